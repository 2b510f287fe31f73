using System.Globalization;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Sweeps;
using StyleFarm.Engine.Networks;
using StyleFarm.Messages.Jobs;

namespace StyleFarm.Coordinator.Api;

/// <summary>
/// The server's checks of a submitted sweep. The client already ran the full validation of the file (with lines);
/// the server cannot re-read the file (its paths are the client's), so it checks what it is about to store and plan:
/// each job's settings are ones the engine accepts, and every blob a job names is in the blob store.
/// </summary>
internal static class SubmissionChecks
{
    /// <summary>More jobs than this in one request is refused whatever max_jobs says: the request would be huge.</summary>
    public const int MaxJobsPerRequest = 100_000;

    public static IReadOnlyList<ApiError> Check(SubmitSweepRequest request)
    {
        var errors = new List<ApiError>();
        void Add(string field, string message) => errors.Add(new ApiError(field, 0, message));

        if (string.IsNullOrWhiteSpace(request.FileName)) Add("fileName", "is required");
        if (string.IsNullOrWhiteSpace(request.FileText)) Add("fileText", "is required: the sweep file's text");
        if (string.IsNullOrWhiteSpace(request.Name)) Add("name", "is required");
        if (request.Priority is < 0 or > 100) Add("priority", $"must be between 0 and 100, got {I(request.Priority)}");
        if (request.Retries is < 0 or > 10) Add("retries", $"must be between 0 and 10, got {I(request.Retries)}");
        if (request.MaxJobs < 1) Add("maxJobs", $"must be at least 1, got {I(request.MaxJobs)}");
        if (request.Jobs is not { Count: > 0 })
        {
            Add("jobs", "lists no job; a sweep needs at least one");
            return errors;
        }
        if (request.Jobs.Count > request.MaxJobs && request.MaxJobs >= 1)
            Add("jobs", $"has {I(request.Jobs.Count)} jobs, more than the sweep's max_jobs of {I(request.MaxJobs)}");
        if (request.Jobs.Count > MaxJobsPerRequest)
        {
            Add("jobs", $"has {I(request.Jobs.Count)} jobs; one submission takes at most {I(MaxJobsPerRequest)}");
            return errors;
        }

        for (int i = 0; i < request.Jobs.Count; i++)
        {
            string field = $"jobs[{I(i)}]";
            SubmitSweepJob? job = request.Jobs[i];
            if (job?.Settings is null)
            {
                Add($"{field}.settings", "is required");
                continue;
            }
            if (job.SweptValues is null) Add($"{field}.sweptValues", "is required (an empty object when nothing is swept)");
            CheckSettings(job.Settings, $"{field}.settings", Add);
        }
        return errors;
    }

    /// <summary>Every blob the jobs name that the store lacks, each once, named by the first field that names it.</summary>
    public static IReadOnlyList<(string Hash, ApiError Error)> MissingBlobs(SubmitSweepRequest request, Func<string, bool> exists)
    {
        var errors = new List<(string, ApiError)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < request.Jobs.Count; i++)
        {
            JobSettings s = request.Jobs[i].Settings;
            string field = $"jobs[{I(i)}].settings";
            foreach ((string name, string? hash) in new[] { ("contentImage", s.ContentImage), ("styleImage", s.StyleImage), ("weightsBlob", s.WeightsBlob) })
            {
                if (hash is null || !seen.Add(hash) || exists(hash)) continue;
                errors.Add((hash, new ApiError($"{field}.{name}", 0,
                    $"blob {hash} is not on the coordinator; upload it first with PUT /api/v1/blobs/{hash}")));
            }
        }
        return errors;
    }

    private static void CheckSettings(JobSettings s, string field, Action<string, string> add)
    {
        bool knownNetwork = FeatureNetworks.Names.Contains(s.Network);
        if (!knownNetwork)
            add($"{field}.network", $"unknown network '{s.Network}': expected one of {string.Join(", ", FeatureNetworks.Names)}");
        if (s.Size is < 16 or > 8192) add($"{field}.size", $"must be between 16 and 8192, got {I(s.Size)}");
        if (s.Steps < 1) add($"{field}.steps", $"must be at least 1, got {I(s.Steps)}");
        if (s.SaveEvery < 0) add($"{field}.saveEvery", $"must be at least 0, got {I(s.SaveEvery)}");
        NonNegative(s.ContentWeight, "contentWeight");
        NonNegative(s.StyleWeight, "styleWeight");
        NonNegative(s.TvWeight, "tvWeight");
        if (!(double.IsFinite(s.LearningRate) && s.LearningRate > 0))
            add($"{field}.learningRate", $"must be a number greater than 0, got {D(s.LearningRate)}");
        if (!SweepKeys.Optimizers.Contains(s.Optimizer))
            add($"{field}.optimizer", $"unknown optimizer '{s.Optimizer}': expected one of {string.Join(", ", SweepKeys.Optimizers)}");
        if (!SweepKeys.Inits.Contains(s.Init))
            add($"{field}.init", $"unknown init '{s.Init}': expected one of {string.Join(", ", SweepKeys.Inits)}");
        Hash(s.ContentImage, "contentImage");
        Hash(s.StyleImage, "styleImage");
        if (s.WeightsBlob is not null) Hash(s.WeightsBlob, "weightsBlob");
        else if (s.Network == FeatureNetworks.Vgg19) add($"{field}.weightsBlob", "vgg19 needs weights: the blob of a VGG19 state dict");

        if (s.StyleLayers is not { Length: > 0 })
        {
            add($"{field}.styleLayers", "lists no layer; at least one is needed");
        }
        else
        {
            for (int i = 0; i < s.StyleLayers.Length; i++)
            {
                StyleLayerWeight? layer = s.StyleLayers[i];
                if (layer is null)
                {
                    add($"{field}.styleLayers[{I(i)}]", "is required");
                    continue;
                }
                if (knownNetwork) Layer(layer.Layer, $"styleLayers[{I(i)}].layer");
                if (!(double.IsFinite(layer.Weight) && layer.Weight >= 0))
                    add($"{field}.styleLayers[{I(i)}].weight", $"must be a number of at least 0, got {D(layer.Weight)}");
            }
        }
        if (knownNetwork) Layer(s.ContentLayer, "contentLayer");

        void NonNegative(double value, string name)
        {
            if (!(double.IsFinite(value) && value >= 0)) add($"{field}.{name}", $"must be a number of at least 0, got {D(value)}");
        }

        void Hash(string? hash, string name)
        {
            if (!BlobAddress.IsValid(hash)) add($"{field}.{name}", $"'{hash}' is not a blob hash (64 lower-case hex characters of a SHA-256)");
        }

        void Layer(string? layer, string name)
        {
            IReadOnlyList<string> layers = FeatureNetworks.LayersOf(s.Network);
            if (layer is null || !layers.Contains(layer))
                add($"{field}.{name}", $"unknown layer '{layer}' for {s.Network}: expected one of {string.Join(", ", layers)}");
        }
    }

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string D(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
