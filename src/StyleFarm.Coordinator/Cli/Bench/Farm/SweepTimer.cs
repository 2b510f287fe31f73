using System.Diagnostics;
using System.Threading.Channels;
using Akka.Actor;
using StyleFarm.Coordinator.Farm;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Submission;
using StyleFarm.Messages.Nodes;

namespace StyleFarm.Coordinator.Cli.Bench.Farm;

/// <summary>
/// How one submitted sweep went: its jobs and units, and the times from the call to submit to: the sweep stored and
/// taken (<paramref name="Submit"/>), its first unit handed out, its last job recorded, and its SweepEnded (<paramref name="Total"/>).
/// </summary>
internal sealed record TimedSweep(string SweepId, int Jobs, int Units, int Recorded, SweepState State, TimeSpan Submit, TimeSpan? FirstAssigned,
    TimeSpan? LastRecorded, TimeSpan Total)
{
    public bool Complete => State == SweepState.Done && Recorded == Jobs;

    public double JobsPerSecond => Recorded / Total.TotalSeconds;
}

/// <summary>Submits a sweep to a farm and times it to its end, from the farm's own events.</summary>
internal static class SweepTimer
{
    public delegate Task<SubmittedSweep> Submit(BenchSweep sweep, CancellationToken ct);

    /// <summary>
    /// Times <paramref name="sweep"/> from the call to submit (storing it included) to its SweepEnded, counting the
    /// JobRecorded events on the way. Events already in the channel (of earlier sweeps, node changes) are dropped first.
    /// </summary>
    public static async Task<TimedSweep> RunAsync(Submit submit, ChannelReader<IFarmEvent> events, BenchSweep sweep,
        TimeSpan timeout, CancellationToken ct)
    {
        while (events.TryRead(out _))
        {
        }
        var clock = Stopwatch.StartNew();
        SubmittedSweep submitted = await submit(sweep, ct);
        TimeSpan submitTime = clock.Elapsed;
        string id = submitted.Sweep.Id;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        int recorded = 0;
        TimeSpan? firstAssigned = null, lastRecorded = null;
        try
        {
            await foreach (IFarmEvent e in events.ReadAllAsync(limit.Token))
            {
                // The clock is read as the events are read, a little after they happened; close enough to see where the time goes.
                if (e is UnitAssigned a && a.SweepId == id) firstAssigned ??= clock.Elapsed;
                else if (e is JobRecorded r && r.SweepId == id)
                {
                    recorded++;
                    lastRecorded = clock.Elapsed;
                }
                else if (e is SweepEnded end && end.SweepId == id)
                    return new TimedSweep(id, submitted.Jobs, submitted.Units.Count, recorded, end.State, submitTime, firstAssigned, lastRecorded, clock.Elapsed);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"sweep {sweep.Expanded.Name} did not end within {timeout.TotalSeconds:F0} s ({recorded} of {submitted.Jobs} jobs recorded)");
        }
        throw new InvalidOperationException("the farm's event stream ended before the sweep did");
    }

    /// <summary>Waits until the coordinator knows <paramref name="devices"/> live devices on nodes that take work.</summary>
    public static async Task WaitForDevicesAsync(IActorRef sweepManager, int devices, TimeSpan timeout, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        int seen = 0;
        while (clock.Elapsed < timeout)
        {
            try
            {
                FarmNodes nodes = await sweepManager.Ask<FarmNodes>(GetFarmNodes.Instance, TimeSpan.FromSeconds(5), ct);
                seen = nodes.Nodes.Where(n => n.State == "up").SelectMany(n => n.Devices).Count(d => d.State != "gone");
                if (seen >= devices) return;
            }
            catch (AskTimeoutException)
            {
                // The singleton may not be up yet.
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), ct);
        }
        throw new TimeoutException($"only {seen} of {devices} devices registered within {timeout.TotalSeconds:F0} s");
    }
}
