using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using KafkaClient.SchemaRegistry.Compatibility;
using KafkaClient.Testing.SchemaRegistry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KafkaClient.Testing;

/// <summary>Options of an <see cref="EmbeddedSchemaRegistry"/>, validated when it starts.</summary>
public sealed class EmbeddedSchemaRegistryOptions
{
    /// <summary>Gets the loopback port to listen on; 0 (the default) picks a free one, 8081 is the registry's usual port.</summary>
    public int Port { get; init; }

    /// <summary>Gets the <c>user:password</c> that basic authentication requires, or null (the default) for no authentication.</summary>
    public string? BasicAuthUserInfo { get; init; }

    /// <summary>Gets the global compatibility level the registry starts with (default BACKWARD, as Confluent's).</summary>
    public CompatibilityLevel DefaultCompatibility { get; init; } = CompatibilityLevel.Backward;
}

/// <summary>An in-process HTTP server on loopback that speaks Confluent Schema Registry's REST API, for tests and local runs.</summary>
/// <remarks>
/// <para>
/// Confluent's .NET <c>CachedSchemaRegistryClient</c>, confluent-kafka-python and any other registry client work
/// against <see cref="Url"/> unchanged: same paths, JSON bodies, content type and error codes (40401, 40402,
/// 40403, 40408, 409, 42201, 42202, 42203...). Schemas live in memory; ids are global and stable and identical
/// schemas share one. JSON Schema compatibility is enforced with Confluent's rules (see
/// <see cref="KafkaClient.SchemaRegistry.Compatibility.Json.JsonSchemaDiff"/>), and so is Protobuf's (see
/// <see cref="KafkaClient.SchemaRegistry.Compatibility.Protobuf.ProtobufSchemaDiff"/>; .proto text or a base64
/// descriptor, one id for both, <c>format=serialized</c>); AVRO schemas are stored as text and not checked.
/// </para>
/// <para>Thread-safe. Dispose to stop the server; clients then see connection errors, as with a registry that went down.</para>
/// </remarks>
public sealed class EmbeddedSchemaRegistry : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly SchemaStore _store;
    private readonly string? _userInfo;
    private long _requests;

    private EmbeddedSchemaRegistry(WebApplication app, SchemaStore store, string? userInfo)
    {
        _app = app;
        _store = store;
        _userInfo = userInfo;
    }

    /// <summary>Gets the registry's base URL, for example <c>http://127.0.0.1:8081</c>.</summary>
    public string Url { get; private set; } = string.Empty;

    /// <summary>Gets the registry's state (tests reach it through InternalsVisibleTo).</summary>
    internal SchemaStore Store => _store;

    /// <summary>Gets the number of HTTP requests served so far (to check that clients cache).</summary>
    public long RequestCount => Interlocked.Read(ref _requests);

    /// <summary>Starts a registry.</summary>
    /// <param name="options">Port, authentication and default compatibility; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels starting.</param>
    /// <returns>The running registry.</returns>
    public static async Task<EmbeddedSchemaRegistry> StartAsync(EmbeddedSchemaRegistryOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new EmbeddedSchemaRegistryOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Port, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Port, 65535);
        if (options.BasicAuthUserInfo is { } userInfo && !userInfo.Contains(':', StringComparison.Ordinal))
        {
            throw new ArgumentException("BasicAuthUserInfo must be 'user:password'.", nameof(options));
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, options.Port));
        var app = builder.Build();
        var store = new SchemaStore(options.DefaultCompatibility);
        var registry = new EmbeddedSchemaRegistry(app, store, options.BasicAuthUserInfo);
        app.Use(registry.ServeAsync);
        app.UseRouting(); // after ServeAsync, which sets the path that routing matches
        new RegistryEndpoints(store).Map(app);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        registry.Url = address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/');
        return registry;
    }

    /// <summary>Stops the server.</summary>
    /// <returns>A task that completes when the server has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Wraps every request: counts it, checks credentials before anything else, sets the path that routing matches
    /// (<see cref="RegistryRequest.RoutablePath"/>), and answers any error, from here or from an endpoint, with
    /// Confluent's error body. A request that no endpoint answered is a 404, or a 405 where the path has other methods.
    /// </summary>
    private async Task ServeAsync(HttpContext http, RequestDelegate next)
    {
        Interlocked.Increment(ref _requests);
        try
        {
            if (_userInfo is not null && !Authorized(http.Request.Headers.Authorization.ToString(), _userInfo))
            {
                http.Response.Headers.WWWAuthenticate = "Basic realm=\"SchemaRegistry\"";
                throw new RegistryException(RegistryErrorCode.Unauthorized, "Unauthorized");
            }

            http.Request.Path = RegistryRequest.RoutablePath(http);
            await next(http).ConfigureAwait(false);
            if (!http.Response.HasStarted)
            {
                // No endpoint answered: no route matched, or routing answered 405 (with Allow) for a method the path does not have.
                throw http.Response.StatusCode == StatusCodes.Status405MethodNotAllowed
                    ? new RegistryException(RegistryErrorCode.MethodNotAllowed, "HTTP 405 Method Not Allowed")
                    : new RegistryException(RegistryErrorCode.NotFound, "HTTP 404 Not Found");
            }
        }
#pragma warning disable CA1031 // A bug must still answer with Confluent's error body, never an empty 500 or a dropped connection.
        catch (Exception ex) when (ex is not OperationCanceledException && !http.Response.HasStarted)
#pragma warning restore CA1031
        {
            var (code, message) = ex switch
            {
                RegistryException e => (e.ErrorCode, e.Message),

                // Kestrel's refusal of the request itself, for example a body over its 30,000,000-byte limit (413).
                BadHttpRequestException e => (e.StatusCode == StatusCodes.Status413PayloadTooLarge ? RegistryErrorCode.PayloadTooLarge : RegistryErrorCode.BadRequest, e.Message),
                JsonException => (RegistryErrorCode.BadRequest, $"Unrecognized request body: {ex.Message}"), // what Confluent answers when the body is not JSON
                _ => (RegistryErrorCode.Internal, $"Error in the embedded registry: {ex.GetType().Name}: {ex.Message}"),
            };
            await RegistryEndpoints.WriteAsync(http, code.HttpStatus(), new JsonObject { ["error_code"] = (int)code, ["message"] = message }).ConfigureAwait(false);
        }
    }

    /// <summary>Checks basic credentials as Confluent's registry does: the scheme in any case, the user and password exactly.</summary>
    private static bool Authorized(string header, string userInfo)
    {
        var space = header.IndexOf(' ', StringComparison.Ordinal);
        if (space < 0 || !header[..space].Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(header[(space + 1)..].Trim())) == userInfo;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
