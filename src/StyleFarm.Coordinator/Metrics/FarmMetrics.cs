using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;
using StyleFarm.Coordinator.Dashboard;
using StyleFarm.Coordinator.Store;

namespace StyleFarm.Coordinator.Metrics;

/// <summary>
/// The coordinator's Prometheus metrics, in a registry of their own (so two farms in one process, or tests, never
/// share series). The Dashboard actor feeds them: gauges from each new view, histograms from each unit's wait
/// (queued → assigned) and run (assigned → completed). prometheus-net's collectors are thread-safe, so a scrape
/// may read while the actor writes.
/// </summary>
public sealed class FarmMetrics
{
    /// <summary>Where <see cref="FarmMetricsHosting.MapFarmMetrics"/> serves them.</summary>
    public const string Path = "/metrics";

    private readonly Gauge _jobs;
    private readonly Gauge _queuedUnits;
    private readonly Gauge _runningUnits;
    private readonly Gauge _stepsPerSecond;
    private readonly Gauge _nodes;
    private readonly Histogram _unitWait;
    private readonly Histogram _unitRun;
    private readonly HashSet<string> _devices = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    public FarmMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        MetricFactory factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        _jobs = factory.CreateGauge("stylefarm_jobs", "Jobs of the sweeps on the dashboard, by state.", "state");
        _queuedUnits = factory.CreateGauge("stylefarm_queued_units", "Work units waiting for a device (the queue depth).");
        _runningUnits = factory.CreateGauge("stylefarm_running_units", "Work units running on a device.");
        _stepsPerSecond = factory.CreateGauge("stylefarm_device_steps_per_second", "Optimizer steps per second of the unit each device runs (0 when idle).", "device");
        _nodes = factory.CreateGauge("stylefarm_nodes", "GPU nodes in the farm (up, draining or unreachable; not gone).");
        _unitWait = factory.CreateHistogram("stylefarm_unit_wait_seconds", "How long a unit waited in the queue before a device took it.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.1, 2, 16) });
        _unitRun = factory.CreateHistogram("stylefarm_unit_run_seconds", "How long a unit ran, from its hand-out to its last result.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 16) });
        foreach (JobState state in Enum.GetValues<JobState>()) _jobs.WithLabels(Label(state)).Set(0);
    }

    public CollectorRegistry Registry { get; }

    /// <summary>Sets the gauges from a view; devices no longer in it lose their series.</summary>
    public void Update(DashboardView view)
    {
        lock (_gate)
        {
            _jobs.WithLabels(Label(JobState.Queued)).Set(view.Sweeps.Sum(s => s.JobsQueued));
            _jobs.WithLabels(Label(JobState.Running)).Set(view.Sweeps.Sum(s => s.JobsRunning));
            _jobs.WithLabels(Label(JobState.Done)).Set(view.Sweeps.Sum(s => s.JobsDone));
            _jobs.WithLabels(Label(JobState.Failed)).Set(view.Sweeps.Sum(s => s.JobsFailed));
            _jobs.WithLabels(Label(JobState.Cancelled)).Set(view.Sweeps.Sum(s => s.JobsCancelled));
            _queuedUnits.Set(view.QueuedUnits);
            _runningUnits.Set(view.RunningUnits);
            _nodes.Set(view.Nodes.Count(n => n.State != "gone"));

            var devices = view.Nodes.SelectMany(n => n.Devices).Where(d => d.State != "gone").ToArray();
            foreach (DashboardDevice device in devices) _stepsPerSecond.WithLabels(device.DeviceId).Set(device.StepsPerSecond);
            foreach (string gone in _devices.Except(devices.Select(d => d.DeviceId)).ToArray())
            {
                _stepsPerSecond.RemoveLabelled(gone);
                _devices.Remove(gone);
            }
            _devices.UnionWith(devices.Select(d => d.DeviceId));
        }
    }

    public void Observe(UnitTiming timing) =>
        (timing.Kind == UnitTimingKind.Wait ? _unitWait : _unitRun).Observe(timing.Duration.TotalSeconds);

    private static string Label(JobState state) => state.ToString().ToLowerInvariant();
}

/// <summary>Registers and serves the <see cref="FarmMetrics"/>.</summary>
public static class FarmMetricsHosting
{
    /// <summary>Registers one <see cref="FarmMetrics"/> (unless one is already registered).</summary>
    public static IServiceCollection AddFarmMetrics(this IServiceCollection services)
    {
        if (services.All(d => d.ServiceType != typeof(FarmMetrics))) services.AddSingleton(new FarmMetrics());
        return services;
    }

    /// <summary>Serves the registered <see cref="FarmMetrics"/> at GET <see cref="FarmMetrics.Path"/>, in Prometheus' text format.</summary>
    public static IEndpointConventionBuilder MapFarmMetrics(this IEndpointRouteBuilder app) =>
        app.MapMetrics(FarmMetrics.Path, app.ServiceProvider.GetRequiredService<FarmMetrics>().Registry);
}
