using System.Globalization;
using System.Numerics;
using StyleFarm.Engine.Networks;
using static StyleFarm.Coordinator.Sweeps.SweepKeys;

namespace StyleFarm.Coordinator.Sweeps;

/// <summary>
/// The checks that need more than one field: layers against the networks they run on, vgg19's weights, the files,
/// zip's list lengths and the job count.
/// </summary>
internal static class SweepChecks
{
    /// <param name="files">Null to leave the files alone (<see cref="SweepOutline"/>: paths not vetted yet).</param>
    public static void Run(SweepSpec spec, FileChecks? files, ErrorList errors)
    {
        CheckLayers(spec, errors);
        CheckVgg19Weights(spec, errors);
        if (files is not null)
        {
            CheckFiles(spec, files, errors);
        }

        if (ZipListsAgree(spec, errors))
        {
            CheckJobCount(spec, errors);
        }
    }

    // ---- layers ----

    private static void CheckLayers(SweepSpec spec, ErrorList errors)
    {
        foreach ((SettingValue value, SweptSetting? owner, int index) in spec.ValuesOf(ContentLayer))
        {
            if (value.Value is string layer)
            {
                CheckLayer(layer, value.Field, value.Line, NetworksFor(spec, owner, index), errors);
            }
        }

        foreach ((SettingValue value, SweptSetting? owner, int index) in spec.ValuesOf(StyleLayers))
        {
            if (value.Value is LayerPreset preset)
            {
                foreach (LayerWeightValue layer in preset.Layers)
                {
                    CheckLayer(layer.Layer, layer.Field, layer.Line, NetworksFor(spec, owner, index), errors);
                }
            }
        }
    }

    private static void CheckLayer(string layer, string field, int line, IReadOnlyList<string> networks, ErrorList errors)
    {
        string[] lacking = [.. networks.Where(network => !FeatureNetworks.LayersOf(network).Contains(layer))];
        if (lacking.Length == 0)
        {
            return;
        }

        IReadOnlyList<string> layers = FeatureNetworks.LayersOf(lacking[0]);
        string message = lacking.Length == 1
            ? $"unknown layer '{layer}' for {lacking[0]}: expected one of {string.Join(", ", layers)}{DidYouMean(layer, layers)}"
            : $"unknown layer '{layer}' for {string.Join(" and ", lacking)}";
        errors.Add(field, line, message);
    }

    /// <summary>
    /// The networks a value may run on. A swept network combines with every other value, except in zip, where a
    /// swept value meets only the network of its own row.
    /// </summary>
    private static IReadOnlyList<string> NetworksFor(SweepSpec spec, SweptSetting? owner, int index)
    {
        SweptSetting? networks = spec.Swept.FirstOrDefault(s => s.Key == Network);
        if (networks is null)
        {
            object? network = spec.Fixed.TryGetValue(Network, out SettingValue? value) ? value.Value : FeatureNetworks.ResNet18;
            return network is string name ? [name] : [];
        }

        IEnumerable<SettingValue> candidates = spec.Method == SweepMethod.Zip && owner is not null && index < networks.Values.Count
            ? [networks.Values[index]]
            : networks.Values;
        return [.. candidates.Select(v => v.Value).OfType<string>().Distinct()];
    }

    // ---- weights ----

    private static void CheckVgg19Weights(SweepSpec spec, ErrorList errors)
    {
        if (spec.Sets(Weights))
        {
            return;
        }

        foreach ((SettingValue value, _, _) in spec.ValuesOf(Network).Where(v => v.Value.Value is FeatureNetworks.Vgg19))
        {
            errors.Add(value.Field, value.Line,
                "vgg19 needs weights: set base.weights to a torchvision or timm VGG19 state dict (.safetensors or .pth)");
        }
    }

    // ---- files ----

    private static void CheckFiles(SweepSpec spec, FileChecks files, ErrorList errors)
    {
        foreach (SettingValue value in spec.ValuesOf(Content).Concat(spec.ValuesOf(Style)).Select(v => v.Value))
        {
            if (value.Value is string path && files.ImageProblem(path, value.Display) is string problem)
            {
                errors.Add(value.Field, value.Line, problem);
            }
        }

        foreach (SettingValue value in spec.ValuesOf(Weights).Select(v => v.Value))
        {
            if (value.Value is string path && files.WeightsProblem(path, value.Display) is string problem)
            {
                errors.Add(value.Field, value.Line, problem);
            }
        }
    }

    // ---- job count ----

    private static bool ZipListsAgree(SweepSpec spec, ErrorList errors)
    {
        if (spec.Method != SweepMethod.Zip || spec.Swept.Count < 2)
        {
            return true;
        }

        SweptSetting first = spec.Swept[0];
        bool agree = true;
        foreach (SweptSetting other in spec.Swept.Skip(1).Where(s => s.Values.Count != first.Values.Count))
        {
            errors.Add(other.Field, other.Line,
                $"zip pairs values row by row, so its lists need one length: this one has {other.Values.Count}, {first.Field} (line {first.Line}) has {first.Values.Count}");
            agree = false;
        }

        return agree;
    }

    // Counted from the list lengths alone: a 1000 × 1000 grid is refused without building a million jobs.
    private static void CheckJobCount(SweepSpec spec, ErrorList errors)
    {
        BigInteger count = Combinations.Count(spec.Method, [.. spec.Swept.Select(s => s.Values.Count)], spec.Samples);
        if (count > spec.MaxJobs)
        {
            errors.Add(spec.SweepField, spec.SweepLine,
                $"expands to {count.ToString("N0", CultureInfo.InvariantCulture)} jobs, more than max_jobs ({spec.MaxJobs.ToString(CultureInfo.InvariantCulture)}); sweep fewer values or raise max_jobs");
        }
    }
}
