using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace StyleFarm.Coordinator.Store;

/// <summary>How settings, units and losses are written into JSON columns.</summary>
internal static class StoreJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        // A diverged run reports NaN or infinite losses; they must be stored, not crash the coordinator.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { DropComputedProperties } },
    };

    public static string Write<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <summary>
    /// Writes <paramref name="value"/> as a property of the object <paramref name="json"/> is writing: nested JSON,
    /// not a string of it, so that nothing is escaped here and unescaped by SQLite (json_extract of an object
    /// gives its JSON text back).
    /// </summary>
    public static void WriteProperty<T>(Utf8JsonWriter json, string name, T value)
    {
        json.WritePropertyName(name);
        JsonSerializer.Serialize(json, value, Options);
    }

    public static T Read<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, Options) ?? throw new InvalidDataException($"Stored JSON is null: {json}");

    // JobId, FusionKey, MaxSteps, Jobs… are derived from the other properties: storing them would only bloat rows.
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
