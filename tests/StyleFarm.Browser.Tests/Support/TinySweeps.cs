using StyleFarm.Engine.Imaging;

namespace StyleFarm.Browser.Tests.Support;

/// <summary>Sweeps small enough for two busy CPU cores: 64 px demo images, a few dozen steps.</summary>
public static class TinySweeps
{
    /// <summary>Writes content.png and style.png (the generated demo pair, 64×48) into <paramref name="folder"/>.</summary>
    public static void WriteImages(string folder) => DemoImages.WriteDemoPair(folder, out _, out _, 64, 48);

    /// <summary>Four jobs on a 2×2 grid of style_weight × steps, one work unit of 8 steps.</summary>
    public static string Report(string name) => $$"""
        # The browser test's report sweep: two swept parameters, so the report draws a real grid.
        name: {{name}}
        content: content.png
        style: style.png
        base: { network: resnet18, size: 64, save_every: 4 }
        sweep:
          method: grid
          parameters:
            style_weight: [1, 30]
            steps: [4, 8]
        """;

    /// <summary>
    /// Four jobs, 64 px, one work unit of two style weights read out at 20 and 40 steps, a snapshot every 10 steps:
    /// a few seconds on an idle CPU (minutes on two oversubscribed cores), long enough for the dashboard to show
    /// progress moving, snapshots arriving and a job finishing before the others.
    /// </summary>
    public static string Live(string name) => $$"""
        name: {{name}}
        content: content.png
        style: style.png
        base: { network: resnet18, size: 64, save_every: 10 }
        sweep:
          method: grid
          parameters:
            style_weight: [3, 30]
            steps: [20, 40]
        """;
}
