using StyleFarm.GpuNode.Cli;

// The `stylefarm-node` executable: a GPU node of the farm.
return await NodeCli.Build().RunAsync(args);
