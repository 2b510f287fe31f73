using StyleFarm.Engine.Runs;
using StyleFarm.Engine.Tests.Support;
using static StyleFarm.Engine.Tests.Support.RunFixtures;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Tests.Runs;

/// <summary>A run must not grow: every step frees what it made.</summary>
[Collection(nameof(ProcessMemoryCollection))]
public class LeakTests
{
    [Fact]
    public void NativeMemoryAndLiveTensorsStayFlatOverThreeHundredSteps()
    {
        using var network = new TinyNetwork();
        using var content = TestImages.Pattern(64, 64, 0.2);
        using var style = TestImages.Pattern(64, 64, 0.9);
        var spec = Unit(network, Variant("a", steps: [300]), Variant("b", styleWeight: 40, steps: [300])) with { SaveEvery = 25 };

        var liveTensors = new Dictionary<int, long>();
        var residentBytes = new Dictionary<int, long>();
        var options = new RunOptions
        {
            OnStep = p =>
            {
                if (p.Step is 50 or 300)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    liveTensors[p.Step] = Tensor.TotalCount;
                    residentBytes[p.Step] = ResidentBytes();
                }
            },
            OnSnapshot = _ => { },
        };
        using (new FusedRunner(network).Run(spec, content, style, options)) { }

        Assert.Equal(liveTensors[50], liveTensors[300]);
        long growth = residentBytes[300] - residentBytes[50];
        Assert.True(growth < 16 << 20, $"resident memory grew by {growth / 1024} KiB from step 50 to 300");
    }

    /// <summary>VmRSS from /proc (Linux); the working set elsewhere.</summary>
    private static long ResidentBytes()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
        {
            string? line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            if (line is not null) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        return Environment.WorkingSet;
    }
}

/// <summary>Tests that read process-wide memory run alone, not beside other tests.</summary>
[CollectionDefinition(nameof(ProcessMemoryCollection), DisableParallelization = true)]
public class ProcessMemoryCollection;
