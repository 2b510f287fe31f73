using StyleFarm.Coordinator.Embedded;
using StyleFarm.Coordinator.Farm;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Submission;
using StyleFarm.Coordinator.Sweeps;

namespace StyleFarm.Browser.Tests.Support;

/// <summary>Runs sweeps on an in-process <see cref="EmbeddedFarm"/>, as `stylefarm run` does.</summary>
public static class FarmRuns
{
    /// <summary>Writes the tiny demo images and <paramref name="sweepText"/> into <paramref name="folder"/>, then submits it.</summary>
    public static async Task<SubmittedSweep> SubmitAsync(EmbeddedFarm farm, string folder, string sweepText)
    {
        TinySweeps.WriteImages(folder);
        string path = Path.Combine(folder, "sweep.yaml");
        await File.WriteAllTextAsync(path, sweepText);
        return await farm.SubmitAsync(SweepLoader.Load(path), sweepText);
    }

    /// <summary>Waits for the sweep's end (its SweepEnded event); fails after <paramref name="timeout"/>.</summary>
    public static async Task<SweepState> WaitForEndAsync(EmbeddedFarm farm, string sweepId, TimeSpan timeout)
    {
        if (farm.Store.GetSweep(sweepId) is { IsFinished: true } finished) return finished.State;
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await foreach (IFarmEvent e in farm.Events.ReadAllAsync(cts.Token))
                if (e is SweepEnded end && end.SweepId == sweepId) return end.State;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
        }
        throw new TimeoutException($"sweep {sweepId} did not end within {timeout}");
    }
}
