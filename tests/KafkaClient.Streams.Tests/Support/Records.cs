using System.Reflection;
using Confluent.SchemaRegistry;

namespace KafkaClient.Streams.Tests.Support;

/// <summary>A value of the joins' input topics.</summary>
public sealed record Value(string Text);

/// <summary>A joined row: the left and the right side's texts, null for a side a left join found nothing on.</summary>
public sealed record Joined(string? Left, string? Right);

/// <summary>A registry client that fails the first calls of one method as a registry that cannot be reached does, then passes every call on.</summary>
public class FlakyRegistry : DispatchProxy
{
    private ISchemaRegistryClient _inner = null!;
    private string _method = string.Empty;
    private int _failuresLeft;
    private int _calls;

    /// <summary>Gets how many times the flaky method was called, failed calls included.</summary>
    public int Calls => Volatile.Read(ref _calls);

    public static ISchemaRegistryClient Wrap(ISchemaRegistryClient inner, string method, int failures, out FlakyRegistry flaky)
    {
        var proxy = Create<ISchemaRegistryClient, FlakyRegistry>();
        flaky = (FlakyRegistry)(object)proxy;
        flaky._inner = inner;
        flaky._method = method;
        flaky._failuresLeft = failures;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (targetMethod.Name == _method)
        {
            Interlocked.Increment(ref _calls);
            if (Interlocked.Decrement(ref _failuresLeft) >= 0)
            {
                var failed = typeof(Task).GetMethod(nameof(Task.FromException), 1, [typeof(Exception)])!
                    .MakeGenericMethod(targetMethod.ReturnType.GetGenericArguments()[0]);
                return failed.Invoke(null, [new HttpRequestException("Connection refused (flaky registry)")]);
            }
        }

        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            throw ex.InnerException;
        }
    }
}

/// <summary>A registry client whose calls of one method never complete, as a registry that accepts connections and never answers.</summary>
public class HangingRegistry : DispatchProxy
{
    private ISchemaRegistryClient _inner = null!;
    private string _method = string.Empty;

    public static ISchemaRegistryClient Wrap(ISchemaRegistryClient inner, string method)
    {
        var proxy = Create<ISchemaRegistryClient, HangingRegistry>();
        var hanging = (HangingRegistry)(object)proxy;
        hanging._inner = inner;
        hanging._method = method;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (targetMethod.Name == _method)
        {
            var never = Activator.CreateInstance(typeof(TaskCompletionSource<>).MakeGenericType(targetMethod.ReturnType.GetGenericArguments()[0]))!;
            return never.GetType().GetProperty(nameof(TaskCompletionSource<int>.Task))!.GetValue(never);
        }

        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            throw ex.InnerException;
        }
    }
}
