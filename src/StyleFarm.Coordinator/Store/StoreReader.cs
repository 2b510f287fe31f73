using Microsoft.Data.Sqlite;

namespace StyleFarm.Coordinator.Store;

/// <summary>Reads columns by name, with the store's conventions for times (Unix ms) and states (lower-case names).</summary>
internal static class StoreReader
{
    public static string Text(this SqliteDataReader reader, string column) => reader.GetString(reader.GetOrdinal(column));

    public static string? TextOrNull(this SqliteDataReader reader, string column)
    {
        int ordinal = reader.GetOrdinal(column);
        return reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
    }

    public static int Int(this SqliteDataReader reader, string column) => reader.GetInt32(reader.GetOrdinal(column));

    public static int? IntOrNull(this SqliteDataReader reader, string column)
    {
        int ordinal = reader.GetOrdinal(column);
        return reader.IsDBNull(ordinal) ? null : reader.GetInt32(ordinal);
    }

    public static double? RealOrNull(this SqliteDataReader reader, string column)
    {
        int ordinal = reader.GetOrdinal(column);
        return reader.IsDBNull(ordinal) ? null : reader.GetDouble(ordinal);
    }

    public static DateTimeOffset Time(this SqliteDataReader reader, string column) =>
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(reader.GetOrdinal(column)));

    public static DateTimeOffset? TimeOrNull(this SqliteDataReader reader, string column)
    {
        int ordinal = reader.GetOrdinal(column);
        return reader.IsDBNull(ordinal) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));
    }

    public static TEnum State<TEnum>(this SqliteDataReader reader, string column) where TEnum : struct, Enum =>
        Enum.Parse<TEnum>(reader.Text(column), ignoreCase: true);

    public static TEnum? StateOrNull<TEnum>(this SqliteDataReader reader, string column) where TEnum : struct, Enum =>
        reader.TextOrNull(column) is { } text ? Enum.Parse<TEnum>(text, ignoreCase: true) : null;
}
