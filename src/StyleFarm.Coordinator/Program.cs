using StyleFarm.Coordinator.Cli;

// The `stylefarm` executable: one composition root for every verb.
return StyleFarmCli.Build().Run(args);
