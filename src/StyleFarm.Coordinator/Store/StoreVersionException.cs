namespace StyleFarm.Coordinator.Store;

/// <summary>The database was written by a newer StyleFarm; opening it could corrupt what that version relies on.</summary>
public sealed class StoreVersionException(string path, int foundVersion, int supportedVersion) : Exception(
    $"The farm database '{path}' has schema version {foundVersion}, but this StyleFarm understands versions up to " +
    $"{supportedVersion}. It was written by a newer StyleFarm: run that version, or use another --data folder.")
{
    public int FoundVersion { get; } = foundVersion;

    public int SupportedVersion { get; } = supportedVersion;
}
