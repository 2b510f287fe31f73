using StyleFarm.Engine.Runs;
using StyleFarm.Messages.Work;
using WireLosses = StyleFarm.Messages.Work.VariantLosses;

namespace StyleFarm.GpuNode.Devices;

/// <summary>
/// The bookkeeping of the one unit a device holds: what was asked to stop it, what the run ended with, which
/// reports wait for blobs and which results wait for ResultStored. The DeviceWorker owns it; no Akka here.
/// </summary>
internal sealed class UnitAttempt(AssignUnit assign, TimeSpan progressInterval)
{
    public AssignUnit Assign { get; } = assign;

    public WorkUnit Unit => Assign.Unit;

    public string AttemptId => Assign.AttemptId;

    public CancellationTokenSource Cancel { get; } = new();

    public DateTimeOffset StartedAt { get; set; } = DateTimeOffset.UtcNow;

    public int LastStep { get; set; }

    /// <summary>Set by a CancelUnit with HandBack (or a drain now): checkpoint and hand the unit back.</summary>
    public string? HandBackReason { get; private set; }

    /// <summary>The coordinator dropped this attempt (CancelUnit without HandBack): nothing more is reported.</summary>
    public bool Dropped { get; private set; }

    /// <summary>Set when the engine thread is done with the unit.</summary>
    public RunEnded? Outcome { get; set; }

    /// <summary>Why the attempt fails other than by the engine (an upload the coordinator refused).</summary>
    public string? FailureReason { get; set; }

    public ProgressThrottle<UnitProgress> Progress { get; } = new(progressInterval);

    public BlobGatedReports Reports { get; } = new();

    /// <summary>Sent JobResults not yet answered by ResultStored, with how many times each was sent and when last (Environment.TickCount64).</summary>
    public Dictionary<string, (JobResult Result, int Sends, long SentAt)> Unstored { get; } = new(StringComparer.Ordinal);

    /// <summary>Jobs that finish with the unit (at its last step): their results wait to go in its UnitDone.</summary>
    public HashSet<string> AtEnd { get; } = new(StringComparer.Ordinal);

    /// <summary>Results of <see cref="AtEnd"/> jobs whose blobs the coordinator has, not sent yet.</summary>
    public List<JobResult> Ready { get; } = [];

    /// <summary>The newest checkpoint the coordinator has (the resume point given, or one this attempt uploaded).</summary>
    public ResumePoint? BestResume { get; private set; } = assign.Resume;

    /// <summary>The hand-back sent and how many times.</summary>
    public (HandBackUnit Message, int Sends)? HandBack { get; set; }

    public bool CancelRequested => HandBackReason is not null || Dropped || FailureReason is not null;

    /// <summary>Every report that can still go out has gone and been acknowledged.</summary>
    public bool ReportsSettled => Reports.Count == 0 && Unstored.Count == 0 && Ready.Count == 0;

    /// <summary>The results not yet acknowledged (sent or held back), for the unit's UnitDone.</summary>
    public JobResult[] UnacknowledgedResults() => [.. Unstored.Values.Select(u => u.Result), .. Ready];

    public void RequestHandBack(string reason)
    {
        HandBackReason ??= reason;
        Cancel.Cancel();
    }

    public void Drop()
    {
        Dropped = true;
        Reports.Clear();
        Unstored.Clear();
        Ready.Clear();
        Cancel.Cancel();
    }

    public void Checkpointed(ResumePoint point)
    {
        if (BestResume is null || point.Step > BestResume.Step)
            BestResume = point;
    }

    public UnitProgress ProgressOf(StepProgress progress) =>
        new(Unit.UnitId, AttemptId, progress.Step,
            progress.Variants.Select(v => new WireLosses(v.VariantId, LossesOf(v.Losses))).ToArray());

    public static LossValues LossesOf(LossRow? row) =>
        row is null ? new LossValues(0, 0, 0, 0) : new LossValues(row.Total, row.Content, row.Style.Sum(), row.Tv);
}
