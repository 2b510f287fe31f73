namespace StyleFarm.Engine;

/// <summary>A problem with the engine's input or settings, with a message meant for the user.</summary>
public class EngineException(string message, Exception? inner = null) : Exception(message, inner);
