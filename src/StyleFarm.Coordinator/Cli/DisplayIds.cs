namespace StyleFarm.Coordinator.Cli;

/// <summary>Ids as the CLI shows them: short enough to read, long enough to tell apart.</summary>
internal static class DisplayIds
{
    /// <summary>
    /// The first 12 characters of an id's own part. A unit id is its sweep's id, '-' and 32 hex digits
    /// (<see cref="Planning.FusionPlanner.UnitIdOf"/>); every unit of a sweep shares the first part, so the digits are
    /// shown. Any other id (a job's, a blob's, a unit's from an older store) is shown from its start.
    /// </summary>
    public static string Short(string id)
    {
        string own = id.Length > UnitHashDigits + 1 && id[^(UnitHashDigits + 1)] == '-' ? id[^UnitHashDigits..] : id;
        return own.Length <= 12 ? own : own[..12];
    }

    private const int UnitHashDigits = 32;
}
