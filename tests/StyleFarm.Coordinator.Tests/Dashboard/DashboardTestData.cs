using StyleFarm.Coordinator.Dashboard;
using StyleFarm.Coordinator.Store;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Work;
using StoreFarm = StyleFarm.Coordinator.Tests.Store.Farm;

namespace StyleFarm.Coordinator.Tests.Dashboard;

/// <summary>
/// Sweep s1: unit u1 fuses two variants (v0 answers a@100 and b@200, v1 c@100 and d@200), unit u2 runs e@100 alone.
/// </summary>
internal static class DashboardTestData
{
    public static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public const string Device = "node-a/cpu";

    public static DateTimeOffset At(double seconds) => T0.AddSeconds(seconds);

    public static readonly WorkUnit U1 = new("u1", "s1", 50, StoreFarm.Job(1), [Variant("v0", ("a", 100), ("b", 200)), Variant("v1", ("c", 100), ("d", 200))]);

    public static readonly WorkUnit U2 = new("u2", "s1", 50, StoreFarm.Job(2), [Variant("v0", ("e", 100))]);

    public static SweepSeed Seed(SweepState state = SweepState.Queued, UnitState u1 = UnitState.Queued, params string[] done) => new(
        new SweepRecord("s1", "demo", "name: demo\n", state, 50, 3, T0, null),
        new[] { "a", "b", "c", "d", "e" }.ToDictionary(j => j, j => done.Contains(j) ? JobState.Done : JobState.Queued),
        [Unit(U1, u1), Unit(U2, UnitState.Queued)],
        []);

    public static UnitRecord Unit(WorkUnit unit, UnitState state, string? device = null) =>
        new(unit, state, state is UnitState.Assigned or UnitState.Running ? "attempt" : null, device is null ? null : "node-a", device,
            null, 0, 0, null, []);

    public static VariantLosses[] Losses(double v0, double v1) =>
        [new("v0", new LossValues(v0, 1, 2, 3)), new("v1", new LossValues(v1, 1, 2, 3))];

    public static NodeView NodeA(string state = "up", string? unitId = null, int step = 0) => new("node-a", "host-a",
        "akka.tcp://stylefarm@127.0.0.1:4053", state, T0,
        [new DeviceView(Device, "cpu", unitId is null ? "idle" : "running", unitId, unitId is null ? null : "s1", step,
            unitId is null ? 0 : 200, 0, 0, 0, 0, 0, null)]);

    private static UnitVariant Variant(string id, params (string Job, int Steps)[] jobs) =>
        new(id, 1, 1, 0, 0.03, [], jobs.Select(j => new JobAtStep(j.Job, j.Steps)).ToArray());
}

/// <summary>A clock the test moves.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Set(DateTimeOffset at) => Interlocked.Exchange(ref _ticks, at.UtcTicks);
}
