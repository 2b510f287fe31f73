namespace StyleFarm.Coordinator.Sweeps;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood, 2014). We use our own generator rather than System.Random because a random
/// sweep must draw the same jobs from the same seed on every machine and every .NET version, and System.Random makes
/// no such promise.
/// </summary>
internal sealed class SplitMix64(long seed)
{
    private ulong _state = unchecked((ulong)seed);

    public ulong NextUInt64()
    {
        unchecked
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>Uniform in [0, count): draws below 2^64 mod count are redrawn, so no index is favoured.</summary>
    public int NextIndex(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ulong bound = (ulong)count;
        ulong threshold = unchecked(0UL - bound) % bound;
        ulong draw;
        do
        {
            draw = NextUInt64();
        }
        while (draw < threshold);

        return (int)(draw % bound);
    }
}
