using System.Diagnostics;
using System.Text.RegularExpressions;
using StyleFarm.Engine.Networks;
using static StyleFarm.Coordinator.Sweeps.SweepKeys;

namespace StyleFarm.Coordinator.Sweeps;

/// <summary>
/// Turns a sweep file's tree into a <see cref="SweepSpec"/>, checking each field on its own: known keys, types,
/// ranges, names from fixed sets, and settings swept twice. Every problem is added to the error list and reading goes
/// on, so one run reports them all.
/// </summary>
internal sealed partial class SweepReader
{
    public const int DefaultPriority = 50;
    public const int DefaultRetries = 3;
    public const int DefaultMaxJobs = 500;

    private readonly ErrorList _errors;
    private readonly ValueReader _read;
    private readonly Dictionary<string, SettingValue> _fixed = new(StringComparer.Ordinal);
    private readonly List<SweptSetting> _swept = [];

    private SweepReader(ErrorList errors, string baseDirectory)
    {
        _errors = errors;
        _read = new ValueReader(errors, baseDirectory);
    }

    /// <summary>The spec, or null when the file's shape is too far off to read further (errors say why).</summary>
    public static SweepSpec? Read(YamlValue root, string baseDirectory, ErrorList errors) =>
        new SweepReader(errors, baseDirectory).ReadRoot(root);

    // The name becomes a folder (runs/<name>/), so it must be a plain file name.
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex SafeName();

    private SweepSpec? ReadRoot(YamlValue root)
    {
        if (root is not YamlMap map)
        {
            _errors.Add("", root.Line, $"a sweep file is a mapping (name, content, style, base, sweep, ...), got {ValueReader.Describe(root)}");
            return null;
        }

        CheckKeys(map, "", TopLevel, TopLevelHint);
        string name = ReadName(map);
        int priority = OptionalInt(map, Priority, 0, 100, DefaultPriority);
        int retries = OptionalInt(map, Retries, 0, 10, DefaultRetries);
        int maxJobs = OptionalInt(map, MaxJobs, 1, int.MaxValue, DefaultMaxJobs);
        ReadImages(map, Content);
        ReadImages(map, Style);
        ReadBase(map.Find(Base));
        YamlEntry? sweep = map.Find(Sweep);
        (SweepMethod method, int samples, long seed) = ReadSweepSection(sweep);
        RequireImages(map, Content);
        RequireImages(map, Style);
        CheckRatio();

        SweptSetting[] swept = [.. _swept.OrderBy(s => s.Position)];
        (string sweepField, int sweepLine) = sweep is not null ? (Sweep, sweep.Line)
            : swept.Length > 0 ? (swept[0].Field, swept[0].Line)
            : ("", map.Line);
        return new SweepSpec(name, priority, retries, maxJobs, method, samples, seed, sweepField, sweepLine, _fixed, swept);
    }

    // ---- top level ----

    private string ReadName(YamlMap map)
    {
        if (map.Find(Name) is not { } entry)
        {
            _errors.Add(Name, map.Line, "missing: give the sweep a name (it names the output folder runs/<name>/)");
            return "";
        }

        string? name = _read.Text(entry.Value, Name, "a name");
        if (name is not null && !SafeName().IsMatch(name))
        {
            _errors.Add(Name, entry.Line,
                $"'{ValueReader.Shorten(name)}' cannot name a folder: use up to 100 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }

        return name ?? "";
    }

    private int OptionalInt(YamlMap map, string key, int min, int max, int fallback) =>
        map.Find(key) is { } entry ? _read.Int(entry.Value, key, min, max) ?? fallback : fallback;

    /// <summary>content/style: one path is fixed; a list of paths is swept like any parameter.</summary>
    private void ReadImages(YamlMap map, string key)
    {
        if (map.Find(key) is not { } entry)
        {
            return;
        }

        switch (entry.Value)
        {
            case YamlList { Items.Count: 0 }:
                _errors.Add(key, entry.Line, "lists no image; give a path or a list of paths");
                break;
            case YamlList list:
                AddSwept(new SweptSetting(key, key, entry.Line, entry.Position, ReadEach(key, list, key)));
                break;
            case YamlText text:
                AddFixed(key, new SettingValue(_read.Path(text, key), text.Text, key, entry.Line));
                break;
            default:
                _errors.Add(key, entry.Line, $"must be an image path or a list of paths, got {ValueReader.Describe(entry.Value)}");
                break;
        }
    }

    private void RequireImages(YamlMap map, string key)
    {
        if (!_fixed.ContainsKey(key) && !_swept.Any(s => s.Key == key) && map.Find(key) is null)
        {
            string what = key == Content ? "content image" : "style image";
            _errors.Add(key, map.Line, $"missing: give the {what}'s path (or a list of paths to sweep)");
        }
    }

    // ---- base ----

    private void ReadBase(YamlEntry? entry)
    {
        if (entry is null)
        {
            return;
        }

        if (entry.Value is not YamlMap map)
        {
            if (entry.Value is not YamlText { IsNull: true })
            {
                _errors.Add(Base, entry.Line, $"must be a mapping of settings, got {ValueReader.Describe(entry.Value)}");
            }

            return;
        }

        CheckKeys(map, Base, Settings, BaseHint);
        foreach (YamlEntry setting in map.Entries.Where(e => Settings.Contains(e.Key)))
        {
            string field = $"{Base}.{setting.Key}";
            AddFixed(setting.Key, new SettingValue(ReadSetting(setting.Key, setting.Value, field), DisplayOf(setting.Value), field, setting.Line));
        }
    }

    // ---- sweep ----

    private (SweepMethod Method, int Samples, long Seed) ReadSweepSection(YamlEntry? entry)
    {
        if (entry is null || entry.Value is YamlText { IsNull: true })
        {
            return (SweepMethod.Grid, 0, 0);
        }

        if (entry.Value is not YamlMap map)
        {
            _errors.Add(Sweep, entry.Line, $"must be a mapping (method, parameters, ...), got {ValueReader.Describe(entry.Value)}");
            return (SweepMethod.Grid, 0, 0);
        }

        CheckKeys(map, Sweep, SweepSection, hint: null);
        SweepMethod? method = ReadMethod(map);
        int samples = ReadSamples(map, entry.Line, method);
        long seed = ReadRandomSeed(map, method);
        ReadParameters(map.Find(Parameters));
        return (method ?? SweepMethod.Grid, samples, seed);
    }

    private SweepMethod? ReadMethod(YamlMap map)
    {
        if (map.Find(Method) is not { } entry)
        {
            return SweepMethod.Grid;
        }

        return _read.Choice(entry.Value, $"{Sweep}.{Method}", Methods, "method") switch
        {
            Grid => SweepMethod.Grid,
            SweepKeys.Random => SweepMethod.Random,
            Zip => SweepMethod.Zip,
            _ => null,
        };
    }

    private int ReadSamples(YamlMap map, int sweepLine, SweepMethod? method)
    {
        YamlEntry? entry = map.Find(Samples);
        const string field = $"{Sweep}.{Samples}";
        if (method == SweepMethod.Random && entry is null)
        {
            _errors.Add(field, sweepLine, "missing: method random needs samples, the number of jobs to draw");
        }
        else if (method is SweepMethod.Grid or SweepMethod.Zip && entry is not null)
        {
            _errors.Add(field, entry.Line, "applies only to method random");
        }

        return entry is null ? 0 : _read.Int(entry.Value, field, 1) ?? 0;
    }

    private long ReadRandomSeed(YamlMap map, SweepMethod? method)
    {
        const string field = $"{Sweep}.{Seed}";
        if (map.Find(Seed) is not { } entry)
        {
            return 0;
        }

        if (method is SweepMethod.Grid or SweepMethod.Zip)
        {
            _errors.Add(field, entry.Line, "applies only to method random (a render's own seed goes in base)");
        }

        return _read.Integer(entry.Value, field, long.MinValue, long.MaxValue) ?? 0;
    }

    private void ReadParameters(YamlEntry? entry)
    {
        const string prefix = $"{Sweep}.{Parameters}";
        if (entry is null || entry.Value is YamlText { IsNull: true })
        {
            return;
        }

        if (entry.Value is not YamlMap map)
        {
            _errors.Add(prefix, entry.Line, $"must map setting names to lists of values, got {ValueReader.Describe(entry.Value)}");
            return;
        }

        CheckKeys(map, prefix, Sweepable, hint: null);
        foreach (YamlEntry parameter in map.Entries.Where(e => Sweepable.Contains(e.Key)))
        {
            string field = $"{prefix}.{parameter.Key}";
            IReadOnlyList<SettingValue>? values = parameter.Key == StyleLayers
                ? ReadPresets(parameter, field)
                : ReadList(parameter, field);
            if (values is not null)
            {
                AddSwept(new SweptSetting(parameter.Key, field, parameter.Line, parameter.Position, values));
            }
        }
    }

    private IReadOnlyList<SettingValue>? ReadList(YamlEntry parameter, string field)
    {
        switch (parameter.Value)
        {
            case YamlList { Items.Count: 0 }:
                _errors.Add(field, parameter.Line, "lists no value; a swept setting needs at least one");
                return null;
            case YamlList list:
                return ReadEach(parameter.Key, list, field);
            default:
                _errors.Add(field, parameter.Line,
                    $"must be a list of values, e.g. [{ExampleOf(parameter.Key)}], got {ValueReader.Describe(parameter.Value)}");
                return null;
        }
    }

    /// <summary>style_layers sweeps named presets: name → { layer: weight }.</summary>
    private IReadOnlyList<SettingValue>? ReadPresets(YamlEntry parameter, string field)
    {
        if (parameter.Value is not YamlMap { Entries.Count: > 0 } presets)
        {
            _errors.Add(field, parameter.Line,
                $"must map preset names to layer weights, e.g. {{ coarse: {{ layer3: 1, layer4: 1 }} }}, got {ValueReader.Describe(parameter.Value)}");
            return null;
        }

        return presets.Entries
            .Select(preset => new SettingValue(
                _read.LayerWeights(preset.Value, $"{field}.{preset.Key}", preset.Key), preset.Key, $"{field}.{preset.Key}", preset.Line))
            .ToArray();
    }

    private SettingValue[] ReadEach(string key, YamlList list, string field) =>
        list.Items
            .Select((item, i) => new SettingValue(ReadSetting(key, item, $"{field}[{i}]"), DisplayOf(item), $"{field}[{i}]", item.Line))
            .ToArray();

    // ---- settings ----

    /// <summary>One setting's value, typed and range-checked; null when invalid (and reported).</summary>
    private object? ReadSetting(string key, YamlValue node, string field) => key switch
    {
        Network => _read.Choice(node, field, FeatureNetworks.Names, "network"),
        Weights or Content or Style => _read.Path(node, field),
        Size => _read.Int(node, field, 16, 8192),
        Steps => _read.Int(node, field, 1),
        SaveEvery => _read.Int(node, field, 0),
        Seed => _read.Integer(node, field, long.MinValue, long.MaxValue),
        ContentWeight or StyleWeight or TvWeight or ContentStyleRatio => _read.Number(node, field, 0),
        LearningRate => _read.Number(node, field, 0, exclusive: true),
        Optimizer => _read.Choice(node, field, Optimizers, "optimizer"),
        Init => _read.Choice(node, field, Inits, "init"),
        ContentLayer => _read.Text(node, field, "a layer name"),
        StyleLayers => _read.LayerWeights(node, field, presetName: null),
        _ => throw new UnreachableException($"no reader for setting '{key}'"),
    };

    private static string DisplayOf(YamlValue node) => node is YamlText text ? text.Text : ValueReader.Describe(node);

    private static string ExampleOf(string key) => key switch
    {
        Content or Style => "a.jpg, b.jpg",
        Network => "resnet18, vgg19",
        Optimizer => "adam, lbfgs",
        Steps => "100, 300",
        _ => "1, 10, 100",
    };

    // ---- settings swept twice, and the ratio form ----

    private void AddFixed(string key, SettingValue value) => _fixed[key] = value;

    /// <summary>
    /// A swept setting overrides a fixed one: DESIGN.md's own example sweeps steps over a base that sets it, so base
    /// reads as the defaults of the sweep. Sweeping one setting twice (content as a list and in parameters) has no
    /// such reading.
    /// </summary>
    private void AddSwept(SweptSetting swept)
    {
        if (_swept.FirstOrDefault(s => s.Key == swept.Key) is { } earlier)
        {
            _errors.Add(swept.Field, swept.Line, $"'{swept.Key}' is already swept on line {earlier.Line}; sweep it in one place");
            return;
        }

        _fixed.Remove(swept.Key);
        _swept.Add(swept);
    }

    /// <summary>
    /// content_style_ratio derives one weight from the other, so it needs exactly one of them (or neither: then the
    /// network's default style weight). With content_weight, style_weight = content_weight / ratio, so 0 cannot work.
    /// </summary>
    private void CheckRatio()
    {
        bool content = Sets(ContentWeight), style = Sets(StyleWeight);
        foreach ((string field, int line, object? ratio) in RatioOccurrences())
        {
            if (content && style)
            {
                _errors.Add(field, line, "content_style_ratio gives one weight from the other: give it with content_weight or style_weight, not both");
            }
            else if (content && ratio is 0.0)
            {
                _errors.Add(field, line, "must be greater than 0 when content_weight is given (style_weight = content_weight / content_style_ratio)");
            }
        }
    }

    // With both weights given the ratio is wrong as a whole: say so once, at its key; a zero is wrong value by value.
    private IEnumerable<(string Field, int Line, object? Ratio)> RatioOccurrences()
    {
        if (_fixed.TryGetValue(ContentStyleRatio, out SettingValue? fixedRatio))
        {
            yield return (fixedRatio.Field, fixedRatio.Line, fixedRatio.Value);
        }

        foreach (SweptSetting swept in _swept.Where(s => s.Key == ContentStyleRatio))
        {
            if (Sets(ContentWeight) && Sets(StyleWeight))
            {
                yield return (swept.Field, swept.Line, null);
                continue;
            }

            foreach (SettingValue value in swept.Values)
            {
                yield return (value.Field, value.Line, value.Value);
            }
        }
    }

    private bool Sets(string key) => _fixed.ContainsKey(key) || _swept.Any(s => s.Key == key);

    // ---- keys ----

    private void CheckKeys(YamlMap map, string prefix, IReadOnlyList<string> known, Func<string, string?>? hint)
    {
        foreach (YamlEntry entry in map.Entries.Where(e => !known.Contains(e.Key)))
        {
            string field = prefix.Length == 0 ? entry.Key : $"{prefix}.{entry.Key}";
            string message = hint?.Invoke(entry.Key) ?? $"unknown key '{ValueReader.Shorten(entry.Key)}'{DidYouMean(entry.Key, known)}";
            _errors.Add(field, entry.Line, message);
        }
    }

    private static string? TopLevelHint(string key) => Settings.Contains(key)
        ? $"'{key}' is a render setting: put it in base, or sweep it in sweep.parameters"
        : null;

    private static string? BaseHint(string key) => key is Content or Style
        ? $"'{key}' is given at the top level of the file (a path, or a list of paths to sweep), not in base"
        : null;
}
