namespace StyleFarm.Engine.Imaging;

/// <summary>What is wrong with an input image.</summary>
public enum ImageInputProblem
{
    /// <summary>The file does not exist (or the path names a folder).</summary>
    NotFound,
    /// <summary>The file exists but could not be opened or read (permissions, I/O error).</summary>
    Unreadable,
    /// <summary>The file or blob has no bytes.</summary>
    Empty,
    /// <summary>The bytes are not in any image format the loader understands.</summary>
    UnsupportedFormat,
    /// <summary>The format is recognised but the data is damaged or cut short.</summary>
    Corrupt,
    /// <summary>The header declares a width or height of zero (or a nonsensical size).</summary>
    ZeroSize,
    /// <summary>The header declares more pixels than the caller allows; nothing was decoded.</summary>
    TooManyPixels,
}

/// <summary>
/// An input image that cannot be used. The message always names the file (or the blob's source name) and the problem,
/// so it can be shown to the user as it is.
/// </summary>
public sealed class ImageInputException : Exception
{
    /// <param name="sourceName">The path, or the name given to bytes or a stream.</param>
    /// <param name="problem">The kind of problem.</param>
    /// <param name="detail">The rest of the sentence that starts "Image '<paramref name="sourceName"/>' ", e.g. "does not exist.".</param>
    /// <param name="inner">The library exception behind it, if any.</param>
    public ImageInputException(string sourceName, ImageInputProblem problem, string detail, Exception? inner = null)
        : base($"Image '{sourceName}' {detail}", inner)
    {
        SourceName = sourceName;
        Problem = problem;
    }

    /// <summary>The path, or for bytes and streams the name the caller gave them.</summary>
    public string SourceName { get; }

    public ImageInputProblem Problem { get; }
}
