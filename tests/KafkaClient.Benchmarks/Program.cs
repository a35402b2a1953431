// BenchmarkDotNet's switcher: every benchmark class of this assembly, chosen with --filter (see docs/benchmarks.md).
//   dotnet run -c Release --project tests/KafkaClient.Benchmarks -- --filter '*'
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

// Each benchmark runs in a process built for it; on a small shared machine that build can outlast the default 2 minutes.
if (args is ["quick", ..])
{
    // A quick in-process look at the end-to-end benchmarks while optimizing (see Support/Quick.cs); not for publishing.
    await KafkaClient.Benchmarks.Support.Quick.RunAsync(args);
    return;
}

var config = ManualConfig.Create(DefaultConfig.Instance).WithBuildTimeout(TimeSpan.FromMinutes(15));
BenchmarkSwitcher.FromAssembly(typeof(KafkaClient.Benchmarks.Documents.User).Assembly).Run(args, config);
