using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using StyleFarm.Messages.Nodes;
using static StyleFarm.Coordinator.Api.StyleFarmApi;

namespace StyleFarm.Coordinator.Api;

/// <summary>/api/v1/nodes: the farm's nodes as the SweepManager sees them, and draining one.</summary>
internal static class NodeEndpoints
{
    public static void MapNodeEndpoints(this RouteGroupBuilder api)
    {
        api.MapGet("/nodes", async (IFarmControl farm, CancellationToken cancel) =>
            Json(await farm.Nodes(cancel).ConfigureAwait(false)));
        api.MapPost("/nodes/{nodeId}/drain", Drain);
    }

    /// <summary>202: the node was told and leaves once its units are finished (or, now, handed back).</summary>
    private static async Task<IResult> Drain(string nodeId, bool? now, IFarmControl farm, CancellationToken cancel)
    {
        FarmNodes nodes = await farm.Nodes(cancel).ConfigureAwait(false);
        if (!nodes.Nodes.Any(n => n.NodeId == nodeId))
        {
            string known = nodes.Nodes.Length == 0 ? "the farm has no nodes" : $"nodes: {string.Join(", ", nodes.Nodes.Select(n => n.NodeId))}";
            return NotFound($"no node {nodeId} in the farm ({known})");
        }
        NodeControlAck ack = await farm.Drain(nodeId, now ?? false, cancel).ConfigureAwait(false);
        return ack.Applied
            ? Json(ack, StatusCodes.Status202Accepted)
            : Problem(StatusCodes.Status409Conflict, "Not applicable", $"cannot drain node {nodeId}: {ack.Error ?? "the SweepManager refused"}");
    }
}
