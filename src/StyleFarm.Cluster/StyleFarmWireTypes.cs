using System.Collections.Frozen;
using System.Reflection;
using System.Runtime.CompilerServices;
using Hyperion;
using StyleFarm.Messages;

namespace StyleFarm.Cluster;

/// <summary>
/// The allowlist of the wire: every concrete <see cref="IStyleFarmMessage"/> in StyleFarm.Messages, and the types
/// their fields hold (sealed types of that assembly, primitives, one-dimensional arrays of them, nullables of them),
/// found by reflection so that a new message is covered without a list to keep up to date. Nothing else may be
/// serialized or deserialized by <see cref="StyleFarmWireSerializer"/>.
/// </summary>
public static class StyleFarmWireTypes
{
    // What Hyperion writes without a type name (it never asks the type filter about these), plus the framework
    // value types a message may use.
    private static readonly FrozenSet<Type> Primitives = new[]
    {
        typeof(bool), typeof(byte), typeof(sbyte), typeof(short), typeof(ushort), typeof(int), typeof(uint),
        typeof(long), typeof(ulong), typeof(float), typeof(double), typeof(decimal), typeof(char), typeof(string),
        typeof(Guid), typeof(DateTime), typeof(DateTimeOffset),
    }.ToFrozenSet();

    private static readonly Lazy<Allowlist> Built = new(() => Build(typeof(IStyleFarmMessage).Assembly));

    /// <summary>The assembly whose types may cross the wire.</summary>
    public static Assembly MessagesAssembly => typeof(IStyleFarmMessage).Assembly;

    /// <summary>Every concrete message type, sorted by full name.</summary>
    public static IReadOnlyList<Type> MessageTypes => Built.Value.Messages;

    /// <summary>Every type that may appear in a message graph (messages included).</summary>
    public static IReadOnlySet<Type> AllowedTypes => Built.Value.Types;

    /// <summary>
    /// Fields of message types whose type is outside what may cross the wire (e.g. a <c>List&lt;T&gt;</c>, an
    /// <c>object</c>, an unsealed class). Empty when the messages are sound; the serializer refuses to start otherwise.
    /// </summary>
    public static IReadOnlyList<string> Violations => Built.Value.Violations;

    /// <summary>The filter Hyperion consults for every type name it reads (and for the root type it writes).</summary>
    public static ITypeFilter TypeFilter => Built.Value.Filter;

    /// <summary>Whether a value of <paramref name="type"/> may be the root of a message on the wire.</summary>
    public static bool IsMessageType(Type type) => Built.Value.MessageSet.Contains(type);

    internal sealed record Allowlist(
        IReadOnlyList<Type> Messages,
        FrozenSet<Type> MessageSet,
        FrozenSet<Type> Types,
        IReadOnlyList<string> Violations,
        ITypeFilter Filter);

    /// <summary>The allowlist of the messages defined in <paramref name="assembly"/> (StyleFarm.Messages; tests try others).</summary>
    internal static Allowlist Build(Assembly assembly)
    {
        var messages = assembly.GetTypes()
            .Where(t => typeof(IStyleFarmMessage).IsAssignableFrom(t) && t is { IsInterface: false, IsAbstract: false }
                        && !t.IsDefined(typeof(CompilerGeneratedAttribute), false))
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .ToArray();

        var allowed = new HashSet<Type>();
        var violations = new List<string>();
        var pending = new Queue<Type>();

        void Visit(Type type, string where)
        {
            if (Primitives.Contains(type))
            {
                allowed.Add(type);
                return;
            }
            if (type.IsArray)
            {
                if (type.GetArrayRank() != 1)
                {
                    violations.Add($"{where}: {type} is a multi-dimensional array; use a one-dimensional one.");
                    return;
                }
                allowed.Add(type);
                Visit(type.GetElementType()!, where);
                return;
            }
            if (Nullable.GetUnderlyingType(type) is { } underlying)
            {
                allowed.Add(type);
                Visit(underlying, where);
                return;
            }
            if (type.Assembly != assembly)
            {
                violations.Add($"{where}: {type} is neither a StyleFarm.Messages type nor a primitive; use records and arrays.");
                return;
            }
            if (type.IsGenericType || type.IsInterface || !(type.IsSealed || type.IsValueType))
            {
                violations.Add($"{where}: {type} must be a sealed, non-generic record (or an enum or struct).");
                return;
            }
            if (allowed.Add(type))
                pending.Enqueue(type);
        }

        foreach (var message in messages)
            Visit(message, message.FullName!);
        while (pending.TryDequeue(out var type))
        {
            if (type.IsEnum)
                continue;
            foreach (var field in InstanceFields(type))
                Visit(field.FieldType, $"{type.FullName}.{FieldName(field)}");
        }

        // Hyperion names types two ways: the assembly-qualified name when it writes the root, and a short form
        // (no version, culture or key; "%core%" for the core library) for every type it reads. Its own builder
        // yields the short form, so both sides agree without copying its rules.
        var builder = TypeFilterBuilder.Create();
        foreach (var type in allowed)
            builder.Include(type);
        var names = builder.Build().FilteredTypes
            .Concat(allowed.Select(t => t.AssemblyQualifiedName!))
            .ToFrozenSet(StringComparer.Ordinal);

        return new Allowlist(messages, messages.ToFrozenSet(), allowed.ToFrozenSet(), violations, new NameFilter(names));
    }

    private static IEnumerable<FieldInfo> InstanceFields(Type type)
    {
        for (var t = type; t is not null && t != typeof(object) && t != typeof(ValueType); t = t.BaseType)
            foreach (var field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                yield return field;
    }

    private static string FieldName(FieldInfo field) =>
        field.Name.StartsWith('<') && field.Name.IndexOf('>') is > 1 and var end ? field.Name[1..end] : field.Name;

    private sealed class NameFilter(FrozenSet<string> names) : ITypeFilter
    {
        public bool IsAllowed(string typeName) => names.Contains(typeName);
    }
}
