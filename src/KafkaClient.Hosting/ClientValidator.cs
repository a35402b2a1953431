using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace KafkaClient.Hosting;

/// <summary>The clients and serdes registered through <see cref="KafkaServiceCollectionExtensions"/>, by service type and key.</summary>
internal sealed class ClientRegistrations
{
    public List<(Type ServiceType, object? ServiceKey)> Clients { get; } = [];

    /// <summary>Gets the clients that are not services (a hosted consumer makes its own, per run): each with its description and a call that builds and releases one.</summary>
    public List<(string Description, Action<IServiceProvider> Build)> Builds { get; } = [];

    public static ClientRegistrations Of(IServiceCollection services)
    {
        foreach (var descriptor in services)
        {
            if (descriptor.ServiceType == typeof(ClientRegistrations) && descriptor.ImplementationInstance is ClientRegistrations found)
            {
                return found;
            }
        }

        var registrations = new ClientRegistrations();
        services.AddSingleton(registrations);
        return registrations;
    }
}

/// <summary>Resolves every registered client and serde when the host starts, so that a misconfigured one fails the start.</summary>
internal sealed class ClientValidator(IServiceProvider provider, ClientRegistrations registrations) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var failures = new List<Exception>();
        var messages = new List<string>();
        foreach (var (serviceType, serviceKey) in registrations.Clients)
        {
            try
            {
                _ = serviceKey is null
                    ? provider.GetRequiredService(serviceType)
                    : provider.GetRequiredKeyedService(serviceType, serviceKey);
            }
            catch (Exception ex)
            {
                // The registrations already removed secret values from these messages.
                failures.Add(ex);
                messages.Add($"{Describe(serviceType)}{(serviceKey is null ? string.Empty : $" (service key '{serviceKey}')")}: {ex.Message}");
            }
        }

        foreach (var (description, build) in registrations.Builds)
        {
            try
            {
                build(provider);
            }
            catch (Exception ex)
            {
                failures.Add(ex);
                messages.Add($"{description}: {ex.Message}");
            }
        }

        if (failures.Count > 0)
        {
            throw new InvalidOperationException(
                $"{failures.Count} Kafka client(s) or serde(s) are misconfigured: {string.Join(" | ", messages)}",
                failures.Count == 1 ? failures[0] : new AggregateException(failures));
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    internal static string Describe(Type type) =>
        type.IsGenericType
            ? $"{type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)]}<{string.Join(", ", type.GetGenericArguments().Select(Describe))}>"
            : type.Name;
}
