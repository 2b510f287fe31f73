using System.Text;

namespace StyleFarm.Coordinator.Dashboard;

/// <summary>One server-sent event: its name ("message" when unnamed) and its data lines joined by '\n'.</summary>
public sealed record ServerSentEvent(string Event, string Data, string? Id);

/// <summary>
/// Reads a text/event-stream line by line (the WHATWG rules, minus reconnection): <c>event:</c>, <c>data:</c> and
/// <c>id:</c> fields accumulate until a blank line dispatches them; comment lines (<c>:</c>) are skipped.
/// </summary>
public sealed class ServerSentEvents
{
    private readonly StringBuilder _data = new();
    private string? _event;
    private string? _id;
    private bool _hasData;

    /// <summary>Takes one line (without its line break); returns the event it completes, if any.</summary>
    public ServerSentEvent? Line(string line)
    {
        if (line.Length == 0)
        {
            ServerSentEvent? complete = _hasData ? new ServerSentEvent(_event ?? "message", _data.ToString(), _id) : null;
            _data.Clear();
            _event = null;
            _hasData = false;
            return complete;
        }
        if (line[0] == ':') return null;
        int colon = line.IndexOf(':');
        string field = colon < 0 ? line : line[..colon];
        string value = colon < 0 ? "" : line[(colon + 1)..];
        if (value.StartsWith(' ')) value = value[1..];
        switch (field)
        {
            case "event":
                _event = value;
                break;
            case "data":
                if (_hasData) _data.Append('\n');
                _data.Append(value);
                _hasData = true;
                break;
            case "id":
                _id = value;
                break;
        }
        return null;
    }
}
