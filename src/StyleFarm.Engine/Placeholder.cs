namespace StyleFarm.Engine; internal static class Placeholder {}
