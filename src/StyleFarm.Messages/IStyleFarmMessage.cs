namespace StyleFarm.Messages;

/// <summary>
/// Marks every type that may cross the wire between coordinator and nodes. The serializer admits only types in
/// this assembly, so nothing else can be smuggled into a message.
/// </summary>
public interface IStyleFarmMessage;
