using System.Reflection;
using System.Text.Json;
using StyleFarm.Messages;
using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Tests.Cluster;

/// <summary>
/// Sample instances of any wire type, built by reflection from its primary constructor, so that every message
/// (including ones added later) gets tested without a hand-written sample. Values are at their realistic maximum:
/// 64-character ids, the longest free text, full chunks.
/// </summary>
internal static class WireSamples
{
    private static readonly DateTimeOffset When = new(2026, 11, 28, 12, 0, 0, TimeSpan.FromHours(1));

    public static object Create(Type type, int arrayLength = 3) => Value(type, type.Name, arrayLength, new Random(17));

    /// <summary>A structural rendering (records, arrays, byte arrays) to compare an object with its round trip.</summary>
    public static string Render(object value) => JsonSerializer.Serialize(value, value.GetType());

    public static string Hash(char c) => new(c, 64);

    public static JobSettings Settings(int size = 400) => new(
        "resnet18", null, size, 1000, 1, 10, 1e-5, 0.03, "adam", "content", 0, 100, "layer3",
        [new StyleLayerWeight("stem", 1), new StyleLayerWeight("layer1", 1), new StyleLayerWeight("layer2", 1),
         new StyleLayerWeight("layer3", 1), new StyleLayerWeight("layer4", 1)],
        Hash('c'), Hash('d'));

    /// <summary>A unit of <paramref name="variants"/> rows, each read at three step counts, with 64-hex ids as the planner makes them.</summary>
    public static WorkUnit Unit(int variants) => new(
        Hash('u'), Hash('s'), 50, Settings(),
        Enumerable.Range(0, variants).Select(i => new UnitVariant(
            $"{Hash('v')[..60]}{i:D4}", 1, 10 * (i + 1), 1e-5, 0.03, Settings().StyleLayers,
            [new JobAtStep($"{Hash('a')[..60]}{i:D4}", 100), new JobAtStep($"{Hash('b')[..60]}{i:D4}", 300),
             new JobAtStep($"{Hash('e')[..60]}{i:D4}", 1000)])).ToArray());

    private static object Value(Type type, string name, int arrayLength, Random random)
    {
        if (type == typeof(string))
            return name.Contains("Reason", StringComparison.Ordinal) || name.Contains("Error", StringComparison.Ordinal)
                ? new string('r', WireLimits.MaxTextChars)
                : Hash('f');
        if (type == typeof(byte[]))
        {
            var bytes = new byte[WireLimits.MaxChunkBytes];
            random.NextBytes(bytes);
            return bytes;
        }
        if (type == typeof(int)) return 123_456;
        if (type == typeof(long)) return 12_345_678_901L;
        if (type == typeof(double)) return 0.1234567890123;
        if (type == typeof(float)) return 0.5f;
        if (type == typeof(bool)) return true;
        if (type == typeof(DateTimeOffset)) return When;
        if (type == typeof(DateTime)) return When.UtcDateTime;
        if (type == typeof(Guid)) return new Guid("0f8fad5b-d9cb-469f-a165-70867728950e");
        if (Nullable.GetUnderlyingType(type) is { } underlying)
            return Value(underlying, name, arrayLength, random);
        if (type.IsEnum)
            return Enum.GetValues(type).GetValue(0)!;
        if (type.IsArray)
        {
            var element = type.GetElementType()!;
            var array = Array.CreateInstance(element, arrayLength);
            for (var i = 0; i < arrayLength; i++)
                array.SetValue(Value(element, name, arrayLength, random), i);
            return array;
        }
        var constructor = type.GetConstructors(BindingFlags.Public | BindingFlags.Instance)
            .Where(c => !c.GetParameters().Any(p => p.ParameterType == type))
            .OrderByDescending(c => c.GetParameters().Length)
            .First();
        return constructor.Invoke(constructor.GetParameters()
            .Select(p => Value(p.ParameterType, p.Name ?? name, arrayLength, random))
            .ToArray());
    }
}
