using StyleFarm.Engine.Imaging;

namespace StyleFarm.Coordinator.Cli.Run;

/// <summary>
/// The sweep `stylefarm run --demo` runs: the generated demo scene in the style of the generated painterly texture,
/// three style weights read out at two step counts. The six jobs fuse into one work unit of three variants, so the
/// demo shows fusion and prefix sharing and finishes in about a minute on two CPU cores.
/// </summary>
public static class DemoSweep
{
    public const string Name = "demo";

    public const string Yaml = """
        # The demo sweep of `stylefarm run --demo`: three style weights, each read out at 100 and 200 steps.
        name: demo
        content: content.png
        style: style.png
        base: { network: resnet18, size: 128, save_every: 50 }
        sweep:
          method: grid
          parameters:
            style_weight: [3, 10, 30]
            steps: [100, 200]
        """;

    /// <summary>Writes the demo images and the sweep file into <paramref name="folder"/>; returns the sweep file's path.</summary>
    public static string WriteTo(string folder)
    {
        Directory.CreateDirectory(folder);
        DemoImages.WriteDemoPair(folder, out _, out _);
        string path = Path.Combine(folder, "demo.yaml");
        AtomicFile.WriteText(path, Yaml);
        return path;
    }
}
