namespace StyleFarm.Coordinator.Tests; public class Placeholder { [Fact] public void Builds() => Assert.True(typeof(StyleFarm.Coordinator.Cli.StyleFarmCli) is not null); }
