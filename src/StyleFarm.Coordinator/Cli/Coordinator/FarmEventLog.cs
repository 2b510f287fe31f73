using System.Globalization;
using Akka.Actor;
using StyleFarm.Coordinator.Farm;
using static StyleFarm.Coordinator.Cli.DisplayIds;

namespace StyleFarm.Coordinator.Cli.Coordinator;

/// <summary>
/// Prints the farm's events as one plain line each (the coordinator's log on a terminal or in journald): units
/// handed out and requeued, every recorded job, failures and finished sweeps. Progress is left to the dashboard.
/// </summary>
public sealed class FarmEventLog : ReceiveActor
{
    public FarmEventLog(TextWriter writer)
    {
        Receive<UnitAssigned>(e => Write(writer, $"unit {Short(e.UnitId)} of sweep {e.SweepId} ({e.Jobs} jobs) assigned to {e.DeviceId}"));
        Receive<UnitRequeued>(e => Write(writer, $"unit {Short(e.UnitId)} of sweep {e.SweepId} requeued from {e.DeviceId}: {e.Reason}"));
        Receive<JobRecorded>(e => Write(writer, $"recorded job {e.JobId} of sweep {e.SweepId} from {e.DeviceId}"));
        Receive<JobsFailed>(e => Write(writer, $"{e.JobIds.Count} job(s) of sweep {e.SweepId} failed: {e.Reason}"));
        Receive<SweepEnded>(e => Write(writer, $"sweep {e.SweepId} {e.State.ToString().ToLowerInvariant()}"));
        Receive<NodeChanged>(e => Write(writer, $"node {e.Node.NodeId} ({e.Node.Address}) {e.Node.State}"));
        ReceiveAny(_ => { });
    }

    public static Props Props(TextWriter writer) => Akka.Actor.Props.Create(() => new FarmEventLog(writer));

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(IFarmEvent));

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    private static void Write(TextWriter writer, string line)
    {
        writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.Now:HH:mm:ss} {line}"));
        writer.Flush();
    }
}
