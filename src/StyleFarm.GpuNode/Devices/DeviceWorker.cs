using System.Text;
using Akka.Actor;
using Akka.Event;
using StyleFarm.GpuNode.Blobs;
using StyleFarm.GpuNode.Execution;
using StyleFarm.Messages;
using StyleFarm.Messages.Blobs;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Work;

namespace StyleFarm.GpuNode.Devices;

/// <summary>
/// One device of the node. Registers with the SweepManager (again whenever the one it registered with dies), asks
/// for work when idle, fetches the blobs a unit needs, runs it on the device's engine thread, and reports: progress
/// (throttled), snapshots and checkpoints (uploaded, then announced), each job's result (uploaded, then repeated
/// until stored), and how the unit ended (finished, failed, handed back).
/// <para>A unit that runs to its end sends its last results and its end as one <see cref="UnitDone"/> and asks for
/// the next unit at once, without waiting for them to be stored: the coordinator then stores the results, the end
/// and the next assignment in one commit. The UnitDone is repeated until <see cref="UnitDoneStored"/>; a draining
/// device reports drained only once every UnitDone is stored.</para>
/// </summary>
/// <remarks>
/// States: Idle (no unit) → Preparing (fetching blobs) → Running (the engine runs it, then results settle) →
/// Idle, or → HandingBack (waiting for HandBackAccepted) → Idle. Registration and draining cut across them.
/// </remarks>
public sealed class DeviceWorker : UntypedActor, IWithTimers
{
    private readonly DeviceWorkerSetup _setup;
    private readonly DeviceWorkerTimings _timings;
    private readonly IActorRef _sweepManager;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IActorRef _uploader = ActorRefs.Nobody;
    private IActorRef _downloader = ActorRefs.Nobody;
    private DeviceEngine? _engine;

    // The states, made once: a ReceiveActor's Become compiles its handlers anew on every call, three times a unit.
    private readonly Action<object> _idle, _preparing, _running, _handingBack;
    private Action<object> _state;

    private bool _registered;
    private IActorRef? _registeredWith;
    private bool _asking;
    private bool _draining;
    private UnitAttempt? _attempt;

    // UnitDone messages sent and not yet answered by UnitDoneStored, by attempt, with how many times each was sent
    // and when last (Environment.TickCount64).
    private readonly Dictionary<string, (UnitDone Message, int Sends, long SentAt)> _unitsDone = new(StringComparer.Ordinal);

    public DeviceWorker(DeviceWorkerSetup setup)
    {
        _setup = setup;
        _timings = setup.Timings;
        _sweepManager = setup.SweepManager;
        _idle = Idle;
        _preparing = Preparing;
        _running = Running;
        _handingBack = HandingBack;
        _state = _idle;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    private string DeviceId => _setup.DeviceId;

    public static Props Props(DeviceWorkerSetup setup) => Akka.Actor.Props.Create(() => new DeviceWorker(setup));

    protected override void PreStart()
    {
        _uploader = Context.ActorOf(BlobUploader.Props(_sweepManager), "uploads");
        _downloader = Context.ActorOf(BlobDownloader.Props(_sweepManager, _setup.Blobs), "downloads");
        var context = new UnitRunnerContext(_setup.Device, _setup.Blobs, _setup.Threads);
        _engine = new DeviceEngine($"engine {DeviceId}", () => _setup.RunnerFactory(context));
        Register();
    }

    protected override void PostStop()
    {
        _attempt?.Cancel.Cancel();
        _engine?.Dispose();
    }

    protected override void OnReceive(object message) => _state(message);

    private void Enter(Action<object> state) => _state = state;

    // ---- States ----

    private void Idle(object message)
    {
        switch (message)
        {
            case AssignUnit assign:
                OnAssignWhenIdle(assign);
                break;
            case NoWork:
                _asking = false;
                Timers.StartSingleTimer(WorkerTick.Ask, WorkerTick.Ask, _timings.NoWorkRepoll);
                break;
            case WorkAvailable:
                if (!_asking) AskForWork();
                break;
            case WorkerTick tick when tick == WorkerTick.Ask:
                _asking = false;
                AskForWork();
                break;
            case DrainDevice:
                _draining = true;
                ReportDrainedIfIdle();
                break;
            default:
                Common(message);
                break;
        }
    }

    private void Preparing(object message)
    {
        switch (message)
        {
            case BlobsFetched fetched when fetched.Tag == _attempt!.AttemptId:
                StartRun();
                break;
            case BlobFetchFailed failed when failed.Tag == _attempt!.AttemptId:
                var attempt = _attempt!;
                _sweepManager.Tell(new UnitFailed(attempt.Unit.UnitId, attempt.AttemptId, DeviceId, attempt.Assign.Resume?.Step ?? 0,
                    WireLimits.Clip($"could not fetch the unit's inputs: {failed.Reason}")));
                Notice($"unit {attempt.Unit.UnitId} failed on {DeviceId}: {failed.Reason}");
                EndAttempt();
                break;
            case CancelUnit cancel when IsCurrent(cancel):
                _downloader.Tell(new CancelFetch(cancel.AttemptId));
                if (cancel.HandBack)
                    BeginHandBack(cancel.Reason);
                else
                {
                    DropAttempt(cancel.Reason);
                    EndAttempt();
                }
                break;
            case DrainDevice drain:
                _draining = true;
                if (!drain.HandBack)
                    break;
                _downloader.Tell(new CancelFetch(_attempt!.AttemptId));
                BeginHandBack("the node is draining");
                break;
            default:
                Busy(message);
                break;
        }
    }

    private void Running(object message)
    {
        switch (message)
        {
            case StepReached step when IsCurrent(step.AttemptId):
                OnStep(step);
                break;
            case WorkerTick tick when tick == WorkerTick.FlushProgress:
                if (_attempt?.Progress.Flush(DateTime.UtcNow) is { } held)
                    _sweepManager.Tell(held);
                break;
            case SnapshotTaken snapshot when IsCurrent(snapshot.AttemptId):
                OnSnapshot(snapshot);
                break;
            case CheckpointTaken checkpoint when IsCurrent(checkpoint.AttemptId):
                OnCheckpoint(checkpoint);
                break;
            case JobDone done when IsCurrent(done.AttemptId):
                OnJobDone(done);
                break;
            case BlobUploaded uploaded:
                ReleaseReports(uploaded.Hash);
                break;
            case BlobUploadFailed failed:
                OnUploadFailed(failed);
                break;
            case ResultStored stored when IsCurrent(stored.AttemptId):
                _attempt!.Unstored.Remove(stored.JobId);
                TryClose();
                break;
            case WorkerTick tick when tick == WorkerTick.Resend:
                ResendResults();
                break;
            case RunEnded ended when ended.AttemptId == _attempt?.AttemptId:
                OnRunEnded(ended);
                break;
            case CancelUnit cancel when IsCurrent(cancel):
                if (cancel.HandBack)
                    _attempt!.RequestHandBack(cancel.Reason);
                else
                    DropAttempt(cancel.Reason);
                TryClose();
                break;
            case DrainDevice drain:
                _draining = true;
                if (drain.HandBack && !_attempt!.Dropped)
                    _attempt.RequestHandBack("the node is draining");
                break;
            default:
                Busy(message);
                break;
        }
    }

    private void HandingBack(object message)
    {
        switch (message)
        {
            case HandBackAccepted accepted when IsCurrent(accepted.AttemptId):
                EndAttempt();
                break;
            case WorkerTick tick when tick == WorkerTick.Resend:
                ResendHandBack();
                break;
            case DrainDevice:
                _draining = true;
                break;
            default:
                Busy(message);
                break;
        }
    }

    /// <summary>What every state with a unit does: refuse another unit, then what every state does.</summary>
    private void Busy(object message)
    {
        if (message is not AssignUnit assign)
        {
            Common(message);
            return;
        }
        if (assign.AttemptId == _attempt?.AttemptId)
            return; // the answer to a repeated RequestWork
        GiveBackUnstarted(assign, "the device is busy with another unit");
    }

    private void Common(object message)
    {
        switch (message)
        {
            case DeviceRegistered registered:
                OnRegistered(registered);
                break;
            case UnitDoneStored stored:
                OnUnitDoneStored(stored);
                break;
            case WorkerTick tick when tick == WorkerTick.ResendDone:
                ResendUnitsDone();
                break;
            case WorkerTick tick when tick == WorkerTick.Register:
                if (!_registered) SendRegister();
                break;
            case Terminated terminated when terminated.ActorRef.Equals(_registeredWith):
                _log.Info("The SweepManager {0} is gone; {1} registers again", _registeredWith, DeviceId);
                Register();
                break;
            default:
                // Late messages of an attempt that ended, and ticks of a state left behind.
                _log.Debug("{0} ignored {1}", DeviceId, message.GetType().Name);
                break;
        }
    }

    private void ResendHandBack()
    {
        var attempt = _attempt!;
        if (attempt.HandBack is not { } handBack || !_registered)
            return;
        var (message, sends) = handBack;
        if (sends >= _timings.MaxResends)
        {
            _log.Warning("Hand-back of unit {0} was never accepted; the device goes on", attempt.Unit.UnitId);
            EndAttempt();
            return;
        }
        attempt.HandBack = (message, sends + 1);
        _sweepManager.Tell(message);
    }

    // ---- Registration and asking for work ----

    private void Register()
    {
        _registered = false;
        if (_registeredWith is not null)
            Context.Unwatch(_registeredWith);
        _registeredWith = null;
        SendRegister();
        Timers.StartPeriodicTimer(WorkerTick.Register, WorkerTick.Register, _timings.RegisterRetry);
    }

    private void SendRegister()
    {
        var memory = DeviceMemory.Of(_setup.Device);
        _sweepManager.Tell(new RegisterDevice(DeviceId, _setup.Device, memory.FreeBytes, memory.TotalBytes));
    }

    private void OnRegistered(DeviceRegistered registered)
    {
        // The sender is the SweepManager itself (not the proxy): its death means a coordinator restart.
        if (!Sender.Equals(_registeredWith))
        {
            if (_registeredWith is not null)
                Context.Unwatch(_registeredWith);
            _registeredWith = Sender;
            Context.Watch(Sender);
        }
        var first = !_registered;
        _registered = true;
        Timers.Cancel(WorkerTick.Register);
        if (!first)
            return;
        ResendPending();
        if (_attempt is null)
            AskForWork();
    }

    private void AskForWork()
    {
        if (!_registered || _draining || _attempt is not null)
            return;
        _asking = true;
        _sweepManager.Tell(new RequestWork(DeviceId, DeviceMemory.Of(_setup.Device).FreeBytes));
        Timers.StartSingleTimer(WorkerTick.Ask, WorkerTick.Ask, _timings.AnswerTimeout);
    }

    private void OnAssignWhenIdle(AssignUnit assign)
    {
        _asking = false;
        Timers.Cancel(WorkerTick.Ask);
        if (_draining)
        {
            GiveBackUnstarted(assign, "the node is draining");
            return;
        }
        _attempt = new UnitAttempt(assign, _timings.ProgressInterval);
        Enter(_preparing);
        var shared = assign.Unit.Shared;
        var needed = new List<string> { shared.ContentImage, shared.StyleImage };
        if (shared.WeightsBlob is { } weights)
            needed.Add(weights);
        if (assign.Resume is { } resume)
            needed.Add(resume.CheckpointBlob);
        // Inputs already in the node's cache (a sweep's images after its first unit) need no trip to the downloader.
        if (needed.All(hash => BlobHash.IsValid(hash) && _setup.Blobs.Contains(hash)))
            StartRun();
        else
            _downloader.Tell(new FetchBlobs(assign.AttemptId, needed));
    }

    private void GiveBackUnstarted(AssignUnit assign, string reason) =>
        _sweepManager.Tell(new HandBackUnit(assign.Unit.UnitId, assign.AttemptId, DeviceId, assign.Resume, reason));

    // ---- Running a unit ----

    private void StartRun()
    {
        var attempt = _attempt!;
        Enter(_running);
        attempt.StartedAt = DateTimeOffset.UtcNow;
        attempt.LastStep = attempt.Assign.Resume?.Step ?? 0;
        var unit = attempt.Unit;
        Notice($"unit {unit.UnitId} started on {DeviceId}: {unit.Jobs.Count()} job(s) in {unit.Variants.Length} variant(s), " +
               $"{unit.MaxSteps} steps" + (attempt.Assign.Resume is { } r ? $", resuming at step {r.Step}" : ""));

        var self = Self;
        var id = attempt.AttemptId;
        var hooks = new ExecutionHooks
        {
            Threads = _setup.Threads,
            CheckpointEvery = attempt.Assign.CheckpointEverySteps,
            // Cheap next to the unit, and only the worker knows at cancel time whether it hands back.
            CheckpointOnCancel = true,
            OnStep = progress => self.Tell(new StepReached(id, progress)),
            OnSnapshot = (variant, step, png) => self.Tell(new SnapshotTaken(id, variant.VariantId, step, BlobHash.Of(png), png)),
            OnCheckpoint = (step, bytes) => self.Tell(new CheckpointTaken(id, step, BlobHash.Of(bytes), bytes)),
            OnJobDone = job =>
            {
                var trace = Encoding.UTF8.GetBytes(job.TraceCsv);
                self.Tell(new JobDone(id, job, BlobHash.Of(job.Png), trace, BlobHash.Of(trace), DateTimeOffset.UtcNow));
            },
        };
        var resume = attempt.Assign.Resume;
        var blobs = _setup.Blobs;
        var cancel = attempt.Cancel.Token;
        _engine!.Run(
            runner => runner.Run(unit, resume is null ? null : blobs.Read(resume.CheckpointBlob), hooks, cancel),
            (elapsed, error) => self.Tell(new RunEnded(id, elapsed, error)));
    }

    private void OnStep(StepReached reached)
    {
        var attempt = _attempt!;
        attempt.LastStep = reached.Progress.Step;
        var report = attempt.ProgressOf(reached.Progress);
        var isLast = reached.Progress.Step >= reached.Progress.MaxSteps;
        if (attempt.Progress.Offer(report, isLast, DateTime.UtcNow, out var flushIn) is { } now)
            _sweepManager.Tell(now);
        else if (!Timers.IsTimerActive(WorkerTick.FlushProgress))
            Timers.StartSingleTimer(WorkerTick.FlushProgress, WorkerTick.FlushProgress, flushIn);
    }

    private void OnSnapshot(SnapshotTaken snapshot)
    {
        var attempt = _attempt!;
        Upload(new SnapshotReady(attempt.Unit.UnitId, attempt.AttemptId, snapshot.VariantId, snapshot.Step, snapshot.Hash),
            (snapshot.Hash, snapshot.Png));
    }

    private void OnCheckpoint(CheckpointTaken checkpoint)
    {
        var attempt = _attempt!;
        Upload(new UnitCheckpointed(attempt.Unit.UnitId, attempt.AttemptId, checkpoint.Step, checkpoint.Hash),
            (checkpoint.Hash, checkpoint.Bytes));
    }

    private void OnJobDone(JobDone done)
    {
        var attempt = _attempt!;
        var output = done.Output;
        if (output.Steps >= attempt.Unit.MaxSteps)
            attempt.AtEnd.Add(output.JobId);
        var result = new JobResult(attempt.Unit.UnitId, attempt.AttemptId, output.JobId, DeviceId, done.ImageHash, done.TraceHash,
            UnitAttempt.LossesOf(output.FinalLosses),
            new JobTimings(attempt.StartedAt, done.FinishedAt, output.Elapsed.TotalSeconds, attempt.Unit.Variants.Length));
        Upload(result, (done.ImageHash, output.Png), (done.TraceHash, done.Trace));
    }

    /// <summary>Uploads the blobs; the report goes once the coordinator has them all.</summary>
    private void Upload(IStyleFarmMessage report, params (string Hash, byte[] Bytes)[] blobs)
    {
        _attempt!.Reports.Add(report, blobs.Select(b => b.Hash));
        foreach (var (hash, bytes) in blobs)
            _uploader.Tell(new UploadBlob(hash, bytes));
    }

    private void ReleaseReports(string hash)
    {
        var attempt = _attempt!;
        if (attempt.Dropped)
            return;
        foreach (var report in attempt.Reports.BlobStored(hash))
        {
            if (report is JobResult last && attempt.AtEnd.Contains(last.JobId))
            {
                attempt.Ready.Add(last); // goes with the unit's end
                continue;
            }
            _sweepManager.Tell(report);
            switch (report)
            {
                case JobResult result:
                    MarkSent(attempt, result);
                    break;
                case UnitCheckpointed checkpointed:
                    attempt.Checkpointed(new ResumePoint(checkpointed.CheckpointBlob, checkpointed.Step));
                    break;
            }
        }
        TryClose();
    }

    private void MarkSent(UnitAttempt attempt, JobResult result)
    {
        attempt.Unstored[result.JobId] = (result, 1, Environment.TickCount64);
        if (!Timers.IsTimerActive(WorkerTick.Resend))
            Timers.StartPeriodicTimer(WorkerTick.Resend, WorkerTick.Resend, _timings.ResendInterval);
    }

    /// <summary>Sends the results held back for the unit's end one by one (the unit does not end with a UnitDone).</summary>
    private void SendReady(UnitAttempt attempt)
    {
        foreach (var result in attempt.Ready)
        {
            _sweepManager.Tell(result);
            MarkSent(attempt, result);
        }
        attempt.Ready.Clear();
    }

    private void OnUploadFailed(BlobUploadFailed failed)
    {
        var attempt = _attempt!;
        if (attempt.Dropped || !attempt.Reports.Needs(failed.Hash))
            return;
        // A report that cannot be made means results would be lost: fail the unit, so it runs again elsewhere.
        attempt.FailureReason ??= $"the coordinator refused blob {failed.Hash}: {failed.Reason}";
        attempt.Reports.Clear();
        attempt.Cancel.Cancel();
        TryClose();
    }

    /// <summary>
    /// Right after (re)registering, every report still unacknowledged goes again, with a fresh count: what was sent
    /// while the coordinator was away is lost with it, and a restarted coordinator must hear of work done meanwhile.
    /// </summary>
    private void ResendPending()
    {
        foreach (var (attemptId, (message, _, _)) in _unitsDone.ToArray())
        {
            _unitsDone[attemptId] = (message, 1, Environment.TickCount64);
            _sweepManager.Tell(message);
        }
        if (_attempt is not { Dropped: false } attempt)
            return;
        foreach (var (jobId, (result, _, _)) in attempt.Unstored.ToArray())
        {
            attempt.Unstored[jobId] = (result, 1, Environment.TickCount64);
            _sweepManager.Tell(result);
        }
        if (attempt.HandBack is { } handBack)
        {
            attempt.HandBack = (handBack.Message, 1);
            _sweepManager.Tell(handBack.Message);
        }
    }

    private void ResendResults()
    {
        if (!_registered)
            return; // held until the device registers again (ResendPending)
        var attempt = _attempt!;
        foreach (var (jobId, (result, sends, sentAt)) in attempt.Unstored.ToArray())
        {
            if (!IsDue(sentAt))
                continue;
            if (sends > _timings.MaxResends)
            {
                _log.Warning("The result of job {0} was never acknowledged; giving up on it", jobId);
                attempt.Unstored.Remove(jobId);
                continue;
            }
            attempt.Unstored[jobId] = (result, sends + 1, Environment.TickCount64);
            _sweepManager.Tell(result);
        }
        TryClose();
    }

    private void OnRunEnded(RunEnded ended)
    {
        var attempt = _attempt!;
        attempt.Outcome = ended;
        Timers.Cancel(WorkerTick.FlushProgress);
        if (!attempt.Dropped && attempt.Progress.Flush(DateTime.UtcNow) is { } held)
            _sweepManager.Tell(held);
        TryClose();
    }

    /// <summary>Once the run has ended and its reports are settled, says how the unit ended.</summary>
    private void TryClose()
    {
        var attempt = _attempt;
        if (attempt?.Outcome is not { } outcome)
            return;
        if (attempt.Dropped)
        {
            EndAttempt();
            return;
        }
        var unitId = attempt.Unit.UnitId;
        var succeeded = attempt.FailureReason is null && outcome.Error is null;
        if (succeeded && attempt.Reports.Count == 0 && attempt.Unstored.Count + attempt.Ready.Count <= WireLimits.MaxResultsPerUnitDone)
        {
            var message = new UnitDone(unitId, attempt.AttemptId, DeviceId, outcome.Elapsed.TotalSeconds, attempt.UnacknowledgedResults());
            _sweepManager.Tell(message);
            _unitsDone[attempt.AttemptId] = (message, 1, Environment.TickCount64);
            if (!Timers.IsTimerActive(WorkerTick.ResendDone))
                Timers.StartPeriodicTimer(WorkerTick.ResendDone, WorkerTick.ResendDone, _timings.ResendInterval);
            Notice($"unit {unitId} finished on {DeviceId} in {outcome.Elapsed.TotalSeconds:F1} s");
            EndAttempt();
            return;
        }
        if (attempt.Reports.Count == 0)
            SendReady(attempt);
        if (!attempt.ReportsSettled)
            return;
        if (succeeded)
        {
            _sweepManager.Tell(new UnitFinished(unitId, attempt.AttemptId, DeviceId, outcome.Elapsed.TotalSeconds));
            Notice($"unit {unitId} finished on {DeviceId} in {outcome.Elapsed.TotalSeconds:F1} s");
            EndAttempt();
        }
        else if (attempt.FailureReason is null && outcome.Error is OperationCanceledException && attempt.HandBackReason is { } reason)
        {
            BeginHandBack(reason);
        }
        else
        {
            var why = attempt.FailureReason ?? $"{outcome.Error!.GetType().Name}: {outcome.Error.Message}";
            _sweepManager.Tell(new UnitFailed(unitId, attempt.AttemptId, DeviceId, attempt.LastStep, WireLimits.Clip(why)));
            Notice($"unit {unitId} failed on {DeviceId} at step {attempt.LastStep}: {why}");
            EndAttempt();
        }
    }

    private void BeginHandBack(string reason)
    {
        var attempt = _attempt!;
        var message = new HandBackUnit(attempt.Unit.UnitId, attempt.AttemptId, DeviceId, attempt.BestResume, WireLimits.Clip(reason));
        attempt.HandBack = (message, 1);
        Enter(_handingBack);
        _sweepManager.Tell(message);
        Timers.StartPeriodicTimer(WorkerTick.Resend, WorkerTick.Resend, _timings.ResendInterval);
        Notice($"unit {attempt.Unit.UnitId} handed back by {DeviceId}" +
               (attempt.BestResume is { } r ? $" at step {r.Step}" : "") + $": {reason}");
    }

    /// <summary>The coordinator gave up this attempt: stop it, report nothing more (one HandBackUnit, as the protocol says).</summary>
    private void DropAttempt(string reason)
    {
        var attempt = _attempt!;
        if (attempt.Dropped)
            return;
        attempt.Drop();
        _sweepManager.Tell(new HandBackUnit(attempt.Unit.UnitId, attempt.AttemptId, DeviceId, null, WireLimits.Clip(reason)));
        Notice($"unit {attempt.Unit.UnitId} cancelled on {DeviceId}: {reason}");
    }

    /// <summary>The device holds no unit any more: ask for the next, or report drained.</summary>
    private void EndAttempt()
    {
        _attempt = null;
        Timers.Cancel(WorkerTick.Resend);
        Timers.Cancel(WorkerTick.FlushProgress);
        Enter(_idle);
        if (_draining)
            ReportDrainedIfIdle();
        else
            AskForWork();
    }

    private void OnUnitDoneStored(UnitDoneStored stored)
    {
        if (!_unitsDone.Remove(stored.AttemptId))
            return;
        if (_unitsDone.Count == 0)
            Timers.Cancel(WorkerTick.ResendDone);
        if (_draining)
            ReportDrainedIfIdle();
    }

    private void ResendUnitsDone()
    {
        if (!_registered)
            return; // held until the device registers again (ResendPending)
        foreach (var (attemptId, (message, sends, sentAt)) in _unitsDone.ToArray())
        {
            if (!IsDue(sentAt))
                continue;
            if (sends > _timings.MaxResends)
            {
                _log.Warning("The end of unit {0} was never acknowledged; giving up on it", message.UnitId);
                _unitsDone.Remove(attemptId);
                continue;
            }
            _unitsDone[attemptId] = (message, sends + 1, Environment.TickCount64);
            _sweepManager.Tell(message);
        }
        if (_unitsDone.Count == 0)
            Timers.Cancel(WorkerTick.ResendDone);
        if (_draining)
            ReportDrainedIfIdle();
    }

    private void ReportDrainedIfIdle()
    {
        // A node may leave only once the end of every unit it ran is stored.
        if (_attempt is not null || _unitsDone.Count > 0)
            return;
        Timers.Cancel(WorkerTick.Ask);
        Context.Parent.Tell(new DeviceDrained(DeviceId));
    }

    /// <summary>
    /// A report waiting for its answer goes again only once it has waited half a resend interval: the timer is one
    /// per worker, and a report sent just before its tick is not lost yet. (Repeating every report on every tick made
    /// a slow coordinator slower: a busy worker's whole backlog came again every interval.)
    /// </summary>
    private bool IsDue(long sentAt) => Environment.TickCount64 - sentAt >= _timings.ResendInterval.TotalMilliseconds / 2;

    private bool IsCurrent(string attemptId) => _attempt is { Dropped: false } attempt && attempt.AttemptId == attemptId;

    private bool IsCurrent(CancelUnit cancel) => IsCurrent(cancel.AttemptId);

    private void Notice(string line)
    {
        _log.Info(line);
        _setup.Report?.Invoke(line);
    }
}
