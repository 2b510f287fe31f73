using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace StyleFarm.Messages.Jobs;

/// <summary>One style layer and its weight.</summary>
public sealed record StyleLayerWeight(string Layer, double Weight);

/// <summary>
/// Every setting of one render, with every default already filled in and the images named by the SHA-256 of
/// their bytes: the same settings mean the same job on every node and after every restart.
/// </summary>
public sealed record JobSettings(
    string Network,
    string? WeightsBlob,
    int Size,
    int Steps,
    double ContentWeight,
    double StyleWeight,
    double TvWeight,
    double LearningRate,
    string Optimizer,
    string Init,
    long Seed,
    int SaveEvery,
    string ContentLayer,
    StyleLayerWeight[] StyleLayers,
    string ContentImage,
    string StyleImage) : IStyleFarmMessage
{
    /// <summary>A stable id: the SHA-256 of the settings in a canonical text form (culture-free, fixed order).</summary>
    public string JobId => Hash(CanonicalText());

    /// <summary>
    /// What a job shares with the others of its work unit: everything but the numbers a batch can vary per row
    /// (content/style/tv weights, layer weights, learning rate) and the step count (a prefix of a longer run).
    /// </summary>
    public string FusionKey => Hash(string.Join('\n',
        Network, WeightsBlob ?? "", Size.ToString(CultureInfo.InvariantCulture), Optimizer, Init,
        Seed.ToString(CultureInfo.InvariantCulture), SaveEvery.ToString(CultureInfo.InvariantCulture), ContentLayer,
        string.Join(',', StyleLayers.Select(l => l.Layer)), ContentImage, StyleImage));

    public string CanonicalText()
    {
        static string N(double value) => value.ToString("R", CultureInfo.InvariantCulture);
        return string.Join('\n',
            "stylefarm-job-v1", Network, WeightsBlob ?? "", Size.ToString(CultureInfo.InvariantCulture),
            Steps.ToString(CultureInfo.InvariantCulture), N(ContentWeight), N(StyleWeight), N(TvWeight), N(LearningRate),
            Optimizer, Init, Seed.ToString(CultureInfo.InvariantCulture), SaveEvery.ToString(CultureInfo.InvariantCulture),
            ContentLayer, string.Join(',', StyleLayers.Select(l => $"{l.Layer}={N(l.Weight)}")), ContentImage, StyleImage);
    }

    // Records compare arrays by reference; settings compare by value.
    public bool Equals(JobSettings? other) => other is not null && CanonicalText() == other.CanonicalText();

    public override int GetHashCode() => CanonicalText().GetHashCode(StringComparison.Ordinal);

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
