// A plain console app on KafkaClient.Hosting and KafkaClient.Streams: a keyed producer registered in a bare
// ServiceCollection, the provider built and the producer resolved by its key. Keyed services need the
// Microsoft.Extensions.DependencyInjection of .NET 8 or later; Streamiz.Kafka.Net's own dependencies name 6.0.0, which
// builds no provider from a keyed registration (a NullReferenceException in CallSiteFactory.Populate), so the packages
// must lift it. No broker is needed: the producer is built against an address nobody listens on, and disposed.
using System.Reflection;
using KafkaClient;
using KafkaClient.Hosting;
using KafkaClient.Streams;
using Microsoft.Extensions.DependencyInjection;

foreach (var type in new[] { typeof(KafkaServiceCollectionExtensions), typeof(JsonSchemaSerDes<>), typeof(ServiceProvider) })
{
    var assembly = type.Assembly;
    Console.WriteLine($"loaded {assembly.GetName().Name} {assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion}");
}

try
{
    var services = new ServiceCollection();
    services.AddKeyedKafkaProducer<string, string>("orders", options => options.Config["bootstrap.servers"] = "127.0.0.1:1");
    await using var provider = services.BuildServiceProvider();
    var producer = provider.GetRequiredKeyedService<ISerializingProducer<string, string>>("orders");
    Console.WriteLine($"resolved the keyed producer {producer.GetType().Name} for \"orders\"");
}
catch (Exception e)
{
    Console.Error.WriteLine($"keyed package smoke failed: {e}");
    return 1;
}

Console.WriteLine("keyed package smoke passed");
return 0;
