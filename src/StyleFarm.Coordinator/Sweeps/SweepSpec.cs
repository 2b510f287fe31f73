namespace StyleFarm.Coordinator.Sweeps;

internal enum SweepMethod { Grid, Random, Zip }

/// <summary>
/// One value a setting takes, typed (int, long, double, string, a full path for files, or a <see cref="LayerPreset"/>),
/// with how the file wrote it and where. <see cref="Value"/> is null when the value was invalid; that is already
/// reported, and later checks skip it.
/// </summary>
internal sealed record SettingValue(object? Value, string Display, string Field, int Line);

/// <summary>A swept setting and its values in file order. <paramref name="Position"/> orders the sweep's dimensions.</summary>
internal sealed record SweptSetting(string Key, string Field, int Line, long Position, IReadOnlyList<SettingValue> Values);

/// <summary>Style layer weights: from base (no name) or a named preset in sweep.parameters.</summary>
internal sealed record LayerPreset(string? Name, IReadOnlyList<LayerWeightValue> Layers);

internal sealed record LayerWeightValue(string Layer, double Weight, string Field, int Line);

/// <summary>A sweep file read and checked field by field, before the checks that need several fields at once.</summary>
/// <param name="Fixed">Settings every job shares (base, and content/style given as one path), by key.</param>
/// <param name="Swept">The sweep's dimensions, in file order.</param>
/// <param name="SweepField">Where the too-many-jobs error points: the sweep section, or the first swept list.</param>
internal sealed record SweepSpec(
    string Name,
    int Priority,
    int Retries,
    int MaxJobs,
    SweepMethod Method,
    int Samples,
    long RandomSeed,
    string SweepField,
    int SweepLine,
    IReadOnlyDictionary<string, SettingValue> Fixed,
    IReadOnlyList<SweptSetting> Swept)
{
    /// <summary>Every value a key takes: the fixed one, or each swept one with its row index (-1 when fixed).</summary>
    public IEnumerable<(SettingValue Value, SweptSetting? Owner, int Index)> ValuesOf(string key)
    {
        if (Fixed.TryGetValue(key, out SettingValue? value))
        {
            yield return (value, null, -1);
        }

        foreach (SweptSetting swept in Swept.Where(s => s.Key == key))
        {
            for (int i = 0; i < swept.Values.Count; i++)
            {
                yield return (swept.Values[i], swept, i);
            }
        }
    }

    public bool Sets(string key) => Fixed.ContainsKey(key) || Swept.Any(s => s.Key == key);
}
