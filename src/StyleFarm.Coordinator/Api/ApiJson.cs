using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace StyleFarm.Coordinator.Api;

/// <summary>
/// The JSON of /api/v1, on both ends: web defaults (camelCase), enums as camelCase strings ("running"), and NaN or
/// infinite losses allowed (a diverged run reports them). The API serializes with these options explicitly, so
/// whatever else the host configures for its own endpoints does not change the API's wire format.
/// </summary>
public static class ApiJson
{
    public static readonly JsonSerializerOptions Options = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { DropComputedProperties } },
            // Read with curl and in terminals, never pasted into HTML: keep ' and ` readable rather than \u0027.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        options.MakeReadOnly();
        return options;
    }

    // JobSettings.JobId, WorkUnit.MaxSteps… are derived from the other properties; sending them would invite a
    // client to believe a value the server recomputes anyway.
    private static void DropComputedProperties(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object) return;
        for (int i = info.Properties.Count - 1; i >= 0; i--)
        {
            JsonPropertyInfo property = info.Properties[i];
            if (property.Set is null && property.AssociatedParameter is null) info.Properties.RemoveAt(i);
        }
    }
}

/// <summary>
/// An error answer, as RFC 7807 problem+json: <see cref="Detail"/> says what went wrong in a sentence a user can act
/// on; <see cref="Errors"/> lists every problem of an invalid request (as `stylefarm validate` prints them).
/// </summary>
public sealed record ApiProblem(
    string Type,
    string Title,
    int Status,
    string Detail,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ApiError>? Errors = null)
{
    public const string ContentType = "application/problem+json";
}
