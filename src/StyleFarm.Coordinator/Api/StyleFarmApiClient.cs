using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text.Json;
using StyleFarm.Coordinator.Dashboard;
using StyleFarm.Coordinator.Results;
using StyleFarm.Coordinator.Sweeps;
using StyleFarm.Messages.Blobs;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Sweeps;

namespace StyleFarm.Coordinator.Api;

/// <summary>
/// The coordinator's /api/v1 as typed calls, for the CLI's client verbs and the dashboard's tests. Every failure is a
/// <see cref="StyleFarmApiException"/> whose message is ready to print: the coordinator unreachable ("cannot reach the
/// coordinator at http://…: connection refused"), or its problem detail with every validation error.
/// </summary>
public sealed class StyleFarmApiClient : IDisposable
{
    /// <summary>Where the client verbs look for the coordinator unless told otherwise (--api, STYLEFARM_API).</summary>
    public const string DefaultAddress = "http://127.0.0.1:5080";

    public const string AddressVariable = "STYLEFARM_API";

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;

    /// <param name="baseAddress">The coordinator, e.g. http://127.0.0.1:5080 (no /api/v1).</param>
    public StyleFarmApiClient(Uri baseAddress, TimeSpan? timeout = null)
        : this(new HttpClient { BaseAddress = baseAddress, Timeout = timeout ?? TimeSpan.FromMinutes(5) }, ownsHttp: true)
    {
    }

    /// <param name="http">A client whose BaseAddress is the coordinator; not disposed with this one.</param>
    public StyleFarmApiClient(HttpClient http) : this(http, ownsHttp: false)
    {
    }

    private StyleFarmApiClient(HttpClient http, bool ownsHttp)
    {
        ArgumentNullException.ThrowIfNull(http.BaseAddress, nameof(http));
        _http = http;
        _ownsHttp = ownsHttp;
        Address = http.BaseAddress.GetLeftPart(UriPartial.Authority);
    }

    /// <summary>The coordinator's address as messages show it.</summary>
    public string Address { get; }

    /// <summary>Sent as <c>Authorization: Bearer …</c> with every request when set (<see cref="Api.ApiToken"/>).</summary>
    public string? ApiToken { get; init; }

    /// <summary>
    /// The address a client verb uses: <paramref name="option"/> (--api) if given, else $STYLEFARM_API, else
    /// <see cref="DefaultAddress"/>. Throws <see cref="ArgumentException"/> naming the bad value.
    /// </summary>
    public static Uri ResolveAddress(string? option, string? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable(AddressVariable);
        string text = !string.IsNullOrWhiteSpace(option) ? option
            : !string.IsNullOrWhiteSpace(environment) ? environment
            : DefaultAddress;
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https"))
            throw new ArgumentException($"'{text}' is not a coordinator address; expected one like {DefaultAddress}");
        return uri;
    }

    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
    }

    // ---- service ----

    public Task<ApiInfo> InfoAsync(CancellationToken cancel = default) => GetAsync<ApiInfo>("api/v1", cancel);

    public Task<ApiHealth> HealthAsync(CancellationToken cancel = default) => GetAsync<ApiHealth>("api/v1/health", cancel);

    // ---- blobs ----

    public async Task<bool> BlobExistsAsync(string hash, CancellationToken cancel = default)
    {
        using HttpResponseMessage response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Head, BlobPath(hash)), cancel);
        if (response.StatusCode == HttpStatusCode.NotFound) return false;
        await EnsureSuccessAsync(response, cancel);
        return true;
    }

    /// <summary>Uploads a file as the blob <paramref name="hash"/> (the SHA-256 of its bytes); the coordinator checks it.</summary>
    public async Task UploadBlobAsync(string hash, string path, CancellationToken cancel = default)
    {
        using HttpResponseMessage response = await SendAsync(() =>
        {
            var content = new StreamContent(File.OpenRead(path));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            return new HttpRequestMessage(HttpMethod.Put, BlobPath(hash)) { Content = content };
        }, cancel);
        await EnsureSuccessAsync(response, cancel);
    }

    public async Task UploadBlobAsync(string hash, byte[] bytes, CancellationToken cancel = default)
    {
        using HttpResponseMessage response = await SendAsync(() =>
            new HttpRequestMessage(HttpMethod.Put, BlobPath(hash)) { Content = new ByteArrayContent(bytes) }, cancel);
        await EnsureSuccessAsync(response, cancel);
    }

    /// <summary>A blob's bytes, checked against its hash (a results folder must hold what the coordinator stored).</summary>
    public async Task<byte[]> DownloadBlobAsync(string hash, CancellationToken cancel = default)
    {
        using HttpResponseMessage response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, BlobPath(hash)), cancel);
        await EnsureSuccessAsync(response, cancel);
        byte[] bytes = await response.Content.ReadAsByteArrayAsync(cancel);
        string actual = BlobHash.Of(bytes);
        if (actual != hash)
            throw new StyleFarmApiException($"the coordinator at {Address} sent blob {hash} with bytes that hash to {actual}", (int)response.StatusCode);
        return bytes;
    }

    // ---- sweeps ----

    /// <summary>
    /// Submits a sweep loaded (and so validated) with <see cref="SweepLoader"/>: uploads each of its files the
    /// coordinator lacks (HEAD, then PUT), then posts the jobs.
    /// </summary>
    /// <param name="uploaded">Called with each file's path once it is on the coordinator, and whether it was sent.</param>
    public async Task<SubmitSweepResponse> SubmitSweepAsync(ExpandedSweep sweep, string fileName, string fileText,
        Action<string, bool>? uploaded = null, CancellationToken cancel = default)
    {
        foreach ((string hash, string path) in sweep.Images)
        {
            bool send = !await BlobExistsAsync(hash, cancel);
            if (send) await UploadBlobAsync(hash, path, cancel);
            uploaded?.Invoke(path, send);
        }
        return await SubmitSweepAsync(new SweepFileSubmission(fileName, fileText, sweep).ToRequest(), cancel);
    }

    public Task<SubmitSweepResponse> SubmitSweepAsync(SubmitSweepRequest request, CancellationToken cancel = default) =>
        PostAsync<SubmitSweepResponse>("api/v1/sweeps", request, cancel);

    /// <summary>POST /api/v1/sweeps/check: the coordinator checks a sweep file as written, its files already uploaded as blobs.</summary>
    public Task<SweepCheckResponse> CheckSweepFileAsync(SweepFileRequest request, CancellationToken cancel = default) =>
        PostAsync<SweepCheckResponse>("api/v1/sweeps/check", request, cancel);

    /// <summary>POST /api/v1/sweeps/file: the coordinator loads and submits a sweep file as written, its files already uploaded as blobs.</summary>
    public Task<SubmitSweepResponse> SubmitSweepFileAsync(SweepFileRequest request, CancellationToken cancel = default) =>
        PostAsync<SubmitSweepResponse>("api/v1/sweeps/file", request, cancel);

    public Task<IReadOnlyList<SweepSummary>> ListSweepsAsync(CancellationToken cancel = default) =>
        GetAsync<IReadOnlyList<SweepSummary>>("api/v1/sweeps", cancel);

    public Task<SweepDetail> GetSweepAsync(string sweepId, CancellationToken cancel = default) =>
        GetAsync<SweepDetail>($"api/v1/sweeps/{Escape(sweepId)}", cancel);

    public Task<IReadOnlyList<JobView>> GetSweepJobsAsync(string sweepId, CancellationToken cancel = default) =>
        GetAsync<IReadOnlyList<JobView>>($"api/v1/sweeps/{Escape(sweepId)}/jobs", cancel);

    public Task<JobDetail> GetJobAsync(string jobId, CancellationToken cancel = default) =>
        GetAsync<JobDetail>($"api/v1/jobs/{Escape(jobId)}", cancel);

    public Task<SweepResults> GetResultsAsync(string sweepId, CancellationToken cancel = default) =>
        GetAsync<SweepResults>($"api/v1/sweeps/{Escape(sweepId)}/results", cancel, SweepResultsJson.Options);

    public Task<SweepControlAck> PauseAsync(string sweepId, CancellationToken cancel = default) => ControlAsync(sweepId, "pause", cancel);

    public Task<SweepControlAck> ResumeAsync(string sweepId, CancellationToken cancel = default) => ControlAsync(sweepId, "resume", cancel);

    public Task<SweepControlAck> CancelAsync(string sweepId, CancellationToken cancel = default) => ControlAsync(sweepId, "cancel", cancel);

    private Task<SweepControlAck> ControlAsync(string sweepId, string command, CancellationToken cancel) =>
        PostAsync<SweepControlAck>($"api/v1/sweeps/{Escape(sweepId)}/{command}", null, cancel);

    // ---- nodes ----

    public Task<FarmNodes> NodesAsync(CancellationToken cancel = default) => GetAsync<FarmNodes>("api/v1/nodes", cancel);

    public Task<NodeControlAck> DrainAsync(string nodeId, bool now, CancellationToken cancel = default) =>
        PostAsync<NodeControlAck>($"api/v1/nodes/{Escape(nodeId)}/drain?now={(now ? "true" : "false")}", null, cancel);

    // ---- dashboard (Dashboard/DashboardEndpoints.cs) ----

    public Task<DashboardView> DashboardAsync(CancellationToken cancel = default) => GetAsync<DashboardView>("api/v1/dashboard", cancel);

    /// <summary>
    /// The views GET /api/v1/events streams, as they come, until the coordinator ends the stream (the enumeration
    /// ends) or <paramref name="cancel"/> fires. A connection that breaks is a <see cref="StyleFarmApiException"/>.
    /// </summary>
    public async IAsyncEnumerable<DashboardView> EventsAsync([EnumeratorCancellation] CancellationToken cancel = default)
    {
        using var request = Authorized(new HttpRequestMessage(HttpMethod.Get, "api/v1/events"));
        request.Headers.Accept.ParseAdd("text/event-stream");
        HttpResponseMessage response;
        try
        {
            // Headers only: the body never ends while the farm runs (and the client's timeout does not apply to it).
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
        }
        catch (HttpRequestException e)
        {
            throw new StyleFarmApiException($"cannot reach the coordinator at {Address}: {Reason(e)}", null, inner: e);
        }
        using (response)
        {
            await EnsureSuccessAsync(response, cancel);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel));
            var parser = new ServerSentEvents();
            while (true)
            {
                string? line;
                try
                {
                    line = await reader.ReadLineAsync(cancel);
                }
                catch (Exception e) when (e is IOException or HttpRequestException)
                {
                    throw new StyleFarmApiException($"lost the coordinator at {Address}: the event stream broke ({e.Message})", null, inner: e);
                }
                if (line is null) yield break;
                if (parser.Line(line) is not { } message || message.Event != DashboardEndpoints.ViewEvent) continue;
                DashboardView? view;
                try
                {
                    view = JsonSerializer.Deserialize<DashboardView>(message.Data, ApiJson.Options);
                }
                catch (JsonException e)
                {
                    throw new StyleFarmApiException(
                        $"the coordinator at {Address} sent a view this client does not understand ({e.Message}); is it a StyleFarm coordinator of the same version?", null, inner: e);
                }
                if (view is not null) yield return view;
            }
        }
    }

    // ---- plumbing ----

    private async Task<T> GetAsync<T>(string path, CancellationToken cancel, JsonSerializerOptions? options = null)
    {
        using HttpResponseMessage response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, path), cancel);
        return await ReadAsync<T>(response, options ?? ApiJson.Options, cancel);
    }

    private async Task<T> PostAsync<T>(string path, object? body, CancellationToken cancel)
    {
        using HttpResponseMessage response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = body is null ? null : JsonContent.Create(body, body.GetType(), options: ApiJson.Options),
        }, cancel);
        return await ReadAsync<T>(response, ApiJson.Options, cancel);
    }

    private async Task<T> ReadAsync<T>(HttpResponseMessage response, JsonSerializerOptions options, CancellationToken cancel)
    {
        await EnsureSuccessAsync(response, cancel);
        try
        {
            return await response.Content.ReadFromJsonAsync<T>(options, cancel)
                   ?? throw new JsonException("the body is null");
        }
        catch (JsonException e)
        {
            throw new StyleFarmApiException(
                $"the coordinator at {Address} answered {Describe(response.RequestMessage)} with something this client does not understand " +
                $"({e.Message}); is it a StyleFarm coordinator of the same version?", (int)response.StatusCode);
        }
    }

    /// <summary>Sends, turning "nobody is there" into one clear sentence.</summary>
    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> request, CancellationToken cancel)
    {
        using HttpRequestMessage message = Authorized(request());
        try
        {
            return await _http.SendAsync(message, HttpCompletionOption.ResponseContentRead, cancel);
        }
        catch (HttpRequestException e)
        {
            throw new StyleFarmApiException($"cannot reach the coordinator at {Address}: {Reason(e)}", null, inner: e);
        }
        catch (TaskCanceledException e) when (!cancel.IsCancellationRequested)
        {
            throw new StyleFarmApiException(
                $"the coordinator at {Address} did not answer {Describe(message)} within {_http.Timeout.TotalSeconds:0} s", null, inner: e);
        }
    }

    private HttpRequestMessage Authorized(HttpRequestMessage request)
    {
        if (ApiToken is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiToken);
        return request;
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancel)
    {
        if (response.IsSuccessStatusCode) return;
        int status = (int)response.StatusCode;
        ApiProblem? problem = null;
        if (response.Content.Headers.ContentLength != 0)
        {
            try
            {
                problem = await response.Content.ReadFromJsonAsync<ApiProblem>(ApiJson.Options, cancel);
            }
            catch (Exception e) when (e is JsonException or NotSupportedException)
            {
                // Not ours (a proxy's HTML page, say): the status line says enough.
            }
        }
        string detail = problem?.Detail is { Length: > 0 } d ? d : $"{status} {response.ReasonPhrase}";
        throw new StyleFarmApiException(detail, status, problem?.Errors ?? []);
    }

    private static string Reason(HttpRequestException e) => e.InnerException switch
    {
        SocketException { SocketErrorCode: SocketError.ConnectionRefused } => "connection refused",
        SocketException { SocketErrorCode: SocketError.HostNotFound or SocketError.NoData } => "no such host",
        SocketException { SocketErrorCode: SocketError.TimedOut } => "connection timed out",
        SocketException socket => socket.Message,
        IOException io => $"the connection broke ({io.Message})",
        { } inner => inner.Message,
        null => e.Message,
    };

    private static string Describe(HttpRequestMessage? request) =>
        request is null ? "the request" : $"{request.Method} {request.RequestUri?.OriginalString}";

    private static string BlobPath(string hash) => $"api/v1/blobs/{Escape(hash)}";

    private static string Escape(string segment) => Uri.EscapeDataString(segment);
}

/// <summary>A call to the coordinator failed; <see cref="Exception.Message"/> is ready to print.</summary>
/// <param name="Status">The HTTP status, or null when the coordinator did not answer.</param>
public sealed class StyleFarmApiException(string message, int? status, IReadOnlyList<ApiError>? errors = null, Exception? inner = null)
    : Exception(message, inner)
{
    public int? Status { get; } = status;

    /// <summary>Every problem of a refused request (a sweep's invalid jobs, missing blobs).</summary>
    public IReadOnlyList<ApiError> Errors { get; } = errors ?? [];

    /// <summary>The user's input is at fault (4xx: an unknown id, an invalid sweep), not the farm; 409 (not applicable now) is not.</summary>
    public bool IsBadRequest => Status is >= 400 and < 500 and not 409;
}
