namespace StyleFarm.Coordinator.Sweeps;

/// <summary>
/// Reads a sweep file (YAML, or JSON), validates all of it and expands it into jobs with complete settings and stable
/// ids. A file with any problem throws <see cref="SweepValidationException"/> listing every problem found.
/// </summary>
public static class SweepLoader
{
    /// <summary>Loads a sweep file; its image and weights paths are relative to the file's folder.</summary>
    /// <exception cref="SweepValidationException">The file cannot be read or has errors.</exception>
    public static ExpandedSweep Load(string path) =>
        Parse(ReadFile(path), path, Path.GetDirectoryName(Path.GetFullPath(path))!);

    /// <summary>The sweep file's text; a file that cannot be read is a validation error naming it as <paramref name="path"/>.</summary>
    /// <exception cref="SweepValidationException">The file cannot be read.</exception>
    public static string ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return File.ReadAllText(Path.GetFullPath(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SweepValidationException(path, [new SweepError("", 0, $"cannot read the sweep file: {e.Message}")]);
        }
    }

    /// <summary>Parses sweep text.</summary>
    /// <param name="sourceName">How errors name the file, e.g. <c>sweep.yaml</c>.</param>
    /// <param name="baseDirectory">The folder relative paths in the file start from.</param>
    /// <exception cref="SweepValidationException">The text has errors.</exception>
    public static ExpandedSweep Parse(string text, string sourceName, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(sourceName);
        ArgumentException.ThrowIfNullOrEmpty(baseDirectory);

        var errors = new ErrorList();
        SweepSpec? spec = ReadSpec(text, baseDirectory, errors);
        if (spec is not null)
        {
            SweepChecks.Run(spec, new FileChecks(), errors);
        }

        if (spec is null || errors.Any)
        {
            throw new SweepValidationException(sourceName, errors.InLineOrder());
        }

        try
        {
            return SweepExpansion.Expand(spec);
        }
        catch (FileHashException e)
        {
            throw new SweepValidationException(sourceName, [e.Error]);
        }
    }

    /// <summary>The sweep the text describes, before any file it names is looked at; null when it is not one.</summary>
    internal static SweepSpec? ReadSpec(string text, string baseDirectory, ErrorList errors)
    {
        // Text decoded without BOM detection (an HTTP body, say) keeps the mark, and YAML would read it into the first key.
        if (text.StartsWith('\uFEFF'))
        {
            text = text[1..];
        }

        return YamlTree.Read(text, errors) is YamlValue root
            ? SweepReader.Read(root, Path.GetFullPath(baseDirectory), errors)
            : null;
    }
}
