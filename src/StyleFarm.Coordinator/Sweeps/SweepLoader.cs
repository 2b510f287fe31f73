namespace StyleFarm.Coordinator.Sweeps;

/// <summary>
/// Reads a sweep file (YAML, or JSON), validates all of it and expands it into jobs with complete settings and stable
/// ids. A file with any problem throws <see cref="SweepValidationException"/> listing every problem found.
/// </summary>
public static class SweepLoader
{
    /// <summary>Loads a sweep file; its image and weights paths are relative to the file's folder.</summary>
    /// <exception cref="SweepValidationException">The file cannot be read or has errors.</exception>
    public static ExpandedSweep Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        string text;
        try
        {
            text = File.ReadAllText(fullPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SweepValidationException(path, [new SweepError("", 0, $"cannot read the sweep file: {e.Message}")]);
        }

        return Parse(text, path, Path.GetDirectoryName(fullPath)!);
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

        // Text decoded without BOM detection (an HTTP body, say) keeps the mark, and YAML would read it into the first key.
        if (text.StartsWith('\uFEFF'))
        {
            text = text[1..];
        }

        var errors = new ErrorList();
        SweepSpec? spec = YamlTree.Read(text, errors) is YamlValue root
            ? SweepReader.Read(root, Path.GetFullPath(baseDirectory), errors)
            : null;
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
}
