namespace StyleFarm.Coordinator.Cli;

/// <summary>Writes beside the target and renames, so a reader never sees half a file and a failure leaves none.</summary>
public static class AtomicFile
{
    public static void WriteText(string path, string text)
    {
        string temp = $"{path}.{Environment.ProcessId}.tmp";
        try
        {
            File.WriteAllText(temp, text);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
