using System.Numerics;

namespace StyleFarm.Coordinator.Sweeps;

/// <summary>
/// Which value of each swept setting every job takes, as rows of indices (one index per dimension, dimensions in file
/// order). Rows are produced lazily, and <see cref="Count"/> needs none of them, so a huge grid is refused without
/// being built.
/// </summary>
internal static class Combinations
{
    /// <summary>How many rows <see cref="Of"/> yields (before equal jobs are merged).</summary>
    public static BigInteger Count(SweepMethod method, IReadOnlyList<int> sizes, int samples) => method switch
    {
        SweepMethod.Grid => GridSize(sizes),
        SweepMethod.Random => BigInteger.Min(samples, GridSize(sizes)),
        SweepMethod.Zip => sizes.Count == 0 ? 1 : sizes[0],
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };

    /// <summary>Zip needs every dimension the same size; the caller has checked that.</summary>
    public static IEnumerable<int[]> Of(SweepMethod method, IReadOnlyList<int> sizes, int samples, long seed) => method switch
    {
        SweepMethod.Grid => Grid(sizes),
        SweepMethod.Random => Random(sizes, samples, seed),
        SweepMethod.Zip => Zip(sizes),
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };

    private static BigInteger GridSize(IReadOnlyList<int> sizes) =>
        sizes.Aggregate(BigInteger.One, (product, size) => product * size);

    /// <summary>The cross product like nested loops: the first dimension changes slowest, the last fastest.</summary>
    private static IEnumerable<int[]> Grid(IReadOnlyList<int> sizes)
    {
        if (sizes.Any(size => size == 0))
        {
            yield break;
        }

        int[] row = new int[sizes.Count];
        while (true)
        {
            yield return (int[])row.Clone();
            int d = sizes.Count - 1;
            while (d >= 0 && ++row[d] == sizes[d])
            {
                row[d--] = 0;
            }

            if (d < 0)
            {
                yield break;
            }
        }
    }

    private static IEnumerable<int[]> Zip(IReadOnlyList<int> sizes)
    {
        int rows = sizes.Count == 0 ? 1 : sizes[0];
        for (int i = 0; i < rows; i++)
        {
            yield return Enumerable.Repeat(i, sizes.Count).ToArray();
        }
    }

    /// <summary>
    /// <paramref name="samples"/> distinct rows, each dimension drawn uniformly, repeats redrawn. When the grid has
    /// no more rows than that, it is the whole grid, in grid order.
    /// </summary>
    private static IEnumerable<int[]> Random(IReadOnlyList<int> sizes, int samples, long seed)
    {
        if (GridSize(sizes) <= samples)
        {
            foreach (int[] row in Grid(sizes))
            {
                yield return row;
            }

            yield break;
        }

        var random = new SplitMix64(seed);
        var drawn = new HashSet<string>(StringComparer.Ordinal);
        while (drawn.Count < samples)
        {
            int[] row = sizes.Select(random.NextIndex).ToArray();
            if (drawn.Add(string.Join(',', row)))
            {
                yield return row;
            }
        }
    }
}
