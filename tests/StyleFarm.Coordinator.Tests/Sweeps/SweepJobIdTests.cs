using StyleFarm.Coordinator.Sweeps;

namespace StyleFarm.Coordinator.Tests.Sweeps;

public sealed class SweepJobIdTests : IDisposable
{
    private const string Sweep = """
        name: ids
        content: content.png
        style: style.png
        base: { size: 64, steps: 20, init: noise, seed: 3 }
        sweep:
          parameters:
            style_weight: [1, 10]
            style_layers:
              even: { stem: 1, layer1: 1, layer2: 1 }
              coarse: { layer3: 1, layer4: 1 }
        """;

    // The same sweep as JSON, keys in another order and numbers spelt differently.
    private const string SweepAsJson = """
        {
          "style": "style.png",
          "name": "ids",
          "content": "content.png",
          "base": {"seed": 3, "init": "noise", "steps": 20, "size": 64},
          "sweep": {
            "parameters": {
              "style_weight": [1.0, 1e1],
              "style_layers": {
                "even": {"layer2": 1, "layer1": 1, "stem": 1},
                "coarse": {"layer3": 1, "layer4": 1}
              }
            }
          }
        }
        """;

    private readonly SweepFolder _folder = new SweepFolder().WithImages();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void IdsAreStableAcrossLoads()
    {
        Assert.Equal(Ids(_folder.Load(Sweep)), Ids(_folder.Load(Sweep)));
    }

    [Fact]
    public void IdsAreEqualForYamlAndTheEquivalentJson()
    {
        Assert.Equal(Ids(_folder.Load(Sweep)), Ids(_folder.Load(SweepAsJson, "sweep.json")));
    }

    [Theory]
    [InlineData("size: 64", "size: 96")]
    [InlineData("steps: 20", "steps: 21")]
    [InlineData("init: noise", "init: content")]
    [InlineData("seed: 3", "seed: 4")]
    [InlineData("base: {", "base: { tv_weight: 0.5,")]
    [InlineData("base: {", "base: { learning_rate: 0.5,")]
    [InlineData("base: {", "base: { save_every: 5,")]
    [InlineData("base: {", "base: { content_layer: layer2,")]
    [InlineData("base: {", "base: { content_weight: 2,")]
    [InlineData("base: {", "base: { optimizer: lbfgs,")]
    [InlineData("coarse: { layer3: 1, layer4: 1 }", "coarse: { layer3: 1, layer4: 2 }")]
    public void AnyChangedSettingChangesTheIds(string from, string to)
    {
        string[] before = Ids(_folder.Load(Sweep));
        string[] after = Ids(_folder.Load(Sweep.Replace(from, to)));

        Assert.Empty(before.Intersect(after.Where((_, i) => ChangedRow(from, i))));
    }

    [Fact]
    public void ChangingOneByteOfAnImageChangesEveryIdThatUsesIt()
    {
        string[] before = Ids(_folder.Load(Sweep));
        string style = _folder.PathOf("style.png");
        byte[] bytes = File.ReadAllBytes(style);
        File.WriteAllBytes(style, [.. bytes, 0]); // a trailing byte: a different file that still reads as the same image

        string[] after = Ids(_folder.Load(Sweep));

        Assert.Empty(before.Intersect(after));
    }

    [Fact]
    public void TheSameBytesUnderAnotherNameAreTheSameJob()
    {
        File.Copy(_folder.PathOf("content.png"), _folder.PathOf("copy-of-content.png"));

        Assert.Equal(Ids(_folder.Load(Sweep)), Ids(_folder.Load(Sweep.Replace("content: content.png", "content: copy-of-content.png"))));
    }

    [Fact]
    public void TheWayALayerMapIsOrderedDoesNotChangeTheIds()
    {
        Assert.Equal(Ids(_folder.Load(Sweep)), Ids(_folder.Load(Sweep.Replace("{ stem: 1, layer1: 1, layer2: 1 }", "{ layer2: 1, stem: 1, layer1: 1 }"))));
    }

    // The preset change touches only the coarse rows (odd rows: style_weight slowest, style_layers fastest).
    private static bool ChangedRow(string from, int row) => !from.StartsWith("coarse", StringComparison.Ordinal) || row % 2 == 1;

    private static string[] Ids(ExpandedSweep sweep) => [.. sweep.Jobs.Select(j => j.Settings.JobId)];
}
