using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace StyleFarm.Coordinator.Api;

/// <summary>
/// The API token: with one set (<see cref="StyleFarmApiOptions.ApiToken"/>), every /api/v1 request that can change
/// something (any method but GET and HEAD) needs <c>Authorization: Bearer &lt;token&gt;</c>; reads stay free, so
/// dashboards and `status` work without it. A coordinator reachable from other machines must have one.
/// </summary>
public static class ApiToken
{
    /// <summary>The environment variable the coordinator, `run` and the client verbs read the token from.</summary>
    public const string Variable = "STYLEFARM_API_TOKEN";

    /// <summary><paramref name="option"/> (--api-token) if given, else $STYLEFARM_API_TOKEN, else null.</summary>
    public static string? Resolve(string? option, string? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable(Variable);
        return !string.IsNullOrWhiteSpace(option) ? option.Trim()
            : !string.IsNullOrWhiteSpace(environment) ? environment.Trim()
            : null;
    }

    /// <summary>
    /// Why the API may not serve on <paramref name="endpoint"/> with <paramref name="token"/>, or null: only a loopback
    /// address (127.0.0.1, ::1) may go without a token, since anyone who reaches another could cancel every sweep.
    /// </summary>
    public static string? BindProblem(IPEndPoint endpoint, string? token) =>
        token is null && !IPAddress.IsLoopback(endpoint.Address)
            ? $"the HTTP API on {endpoint} is reachable from other machines, so its mutating endpoints need a token: " +
              $"pass --api-token <TOKEN> (or set {Variable}), or bind to 127.0.0.1"
            : null;

    /// <summary>Whether an Authorization header carries the token, compared in constant time.</summary>
    public static bool Authorizes(string? authorization, string token)
    {
        const string scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
        // Hashing first makes both sides one length, so the comparison's time says nothing about the token's length either.
        byte[] given = SHA256.HashData(Encoding.UTF8.GetBytes(authorization[scheme.Length..].Trim()));
        byte[] expected = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        return CryptographicOperations.FixedTimeEquals(given, expected);
    }

    /// <summary>The /api/v1 endpoint filter: 401 problem+json for a mutating request without the token.</summary>
    internal static async ValueTask<object?> Require(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        HttpContext http = context.HttpContext;
        string? token = http.RequestServices.GetService<StyleFarmApiOptions>()?.ApiToken;
        if (token is null || HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method)
            || Authorizes(http.Request.Headers.Authorization, token))
            return await next(context).ConfigureAwait(false);

        http.Response.Headers.WWWAuthenticate = "Bearer";
        bool sent = http.Request.Headers.Authorization.Count > 0;
        return StyleFarmApi.Problem(StatusCodes.Status401Unauthorized, "Unauthorized",
            sent
                ? "the API token is wrong; send the coordinator's token as `Authorization: Bearer <token>`"
                : "this coordinator needs its API token for changes: send `Authorization: Bearer <token>` " +
                  $"(the CLI: --api-token or ${Variable}; the dashboard: open the URL the coordinator printed, with #token=…)");
    }
}
