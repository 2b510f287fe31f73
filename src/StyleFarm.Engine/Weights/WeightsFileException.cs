namespace StyleFarm.Engine.Weights;

/// <summary>
/// A weights file that cannot be read or does not fit the network. The message always names the file, and the
/// tensor when one tensor is at fault, so a user with a dozen checkpoints knows which one to fix.
/// </summary>
public sealed class WeightsFileException : Exception
{
    public WeightsFileException(string file, string? tensor, string problem, Exception? inner = null)
        : base(Describe(file, tensor, problem), inner)
    {
        File = file;
        Tensor = tensor;
    }

    /// <summary>The file (or stream name) that was being read or checked.</summary>
    public string File { get; }

    /// <summary>The tensor at fault, or null when the file as a whole is.</summary>
    public string? Tensor { get; }

    private static string Describe(string file, string? tensor, string problem) =>
        tensor is null ? $"{file}: {problem}" : $"{file}: tensor '{tensor}': {problem}";
}
