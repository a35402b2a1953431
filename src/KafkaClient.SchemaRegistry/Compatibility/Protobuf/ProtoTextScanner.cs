namespace KafkaClient.SchemaRegistry.Compatibility.Protobuf;

/// <summary>An import statement found in .proto text, with where it is.</summary>
internal sealed record ProtoImport(string Path, int Line, int Column);

/// <summary>
/// Reads just enough of .proto text to find its imports and to bound its nesting, before the parser sees it: the
/// imports decide which files the parse needs (and whether they import each other in a cycle), and the depth
/// bound keeps the recursive parser far from the end of the stack.
/// </summary>
/// <remarks>
/// Comments and string literals are skipped. Any <c>import</c> word outside braces followed by a string counts, so
/// that the imports found are never fewer than the parser's. Anything malformed is left to the parser to report.
/// </remarks>
internal static class ProtoTextScanner
{
    /// <summary>The deepest nesting of braces, brackets, parentheses and angle brackets accepted.</summary>
    public const int MaxNestingDepth = 64;

    private enum ImportState
    {
        None,
        Keyword,
        Modifier,
    }

    /// <summary>Lists the imports of a .proto text and checks its nesting.</summary>
    /// <param name="text">The .proto text.</param>
    /// <param name="file">The file's name, for messages.</param>
    /// <returns>The imported paths, in order.</returns>
    /// <exception cref="FormatException">The text nests deeper than <see cref="MaxNestingDepth"/>.</exception>
    public static List<ProtoImport> Scan(string text, string file)
    {
        var imports = new List<ProtoImport>();
        var depth = 0;
        var line = 1;
        var lineStart = 0;
        var state = ImportState.None;
        var importLine = 0;
        var importColumn = 0;
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '\n')
            {
                line++;
                lineStart = i + 1;
                i++;
                continue;
            }

            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            if (c == '/' && i + 1 < text.Length && text[i + 1] == '/')
            {
                while (i < text.Length && text[i] != '\n')
                {
                    i++;
                }

                continue;
            }

            if (c == '/' && i + 1 < text.Length && text[i + 1] == '*')
            {
                i += 2;
                while (i < text.Length && !(text[i] == '*' && i + 1 < text.Length && text[i + 1] == '/'))
                {
                    if (text[i] == '\n')
                    {
                        line++;
                        lineStart = i + 1;
                    }

                    i++;
                }

                i = Math.Min(text.Length, i + 2);
                continue;
            }

            if (c is '"' or '\'')
            {
                i = ReadString(text, i, out var value);
                if (state != ImportState.None)
                {
                    imports.Add(new ProtoImport(value, importLine, importColumn));
                }

                state = ImportState.None;
                continue;
            }

            if (IsIdentifierChar(c))
            {
                var start = i;
                while (i < text.Length && IsIdentifierChar(text[i]))
                {
                    i++;
                }

                var length = i - start;
                if (depth == 0 && length == 6 && string.CompareOrdinal(text, start, "import", 0, 6) == 0)
                {
                    state = ImportState.Keyword;
                    importLine = line;
                    importColumn = start - lineStart + 1;
                }
                else if (state == ImportState.Keyword && (Is(text, start, length, "public") || Is(text, start, length, "weak") || Is(text, start, length, "option")))
                {
                    state = ImportState.Modifier;
                }
                else
                {
                    state = ImportState.None;
                }

                continue;
            }

            state = ImportState.None;
            if (c is '{' or '(' or '[' or '<')
            {
                if (++depth > MaxNestingDepth)
                {
                    throw new FormatException($"{file}({line},{i - lineStart + 1}): the schema nests more than {MaxNestingDepth} levels deep.");
                }
            }
            else if (c is '}' or ')' or ']' or '>')
            {
                depth = Math.Max(0, depth - 1);
            }

            i++;
        }

        return imports;
    }

    private static bool Is(string text, int start, int length, string word) =>
        length == word.Length && string.CompareOrdinal(text, start, word, 0, length) == 0;

    private static int ReadString(string text, int i, out string value)
    {
        var quote = text[i++];
        var sb = new System.Text.StringBuilder();
        while (i < text.Length && text[i] != quote && text[i] != '\n')
        {
            if (text[i] == '\\' && i + 1 < text.Length && text[i + 1] != '\n')
            {
                sb.Append(text[i + 1]);
                i += 2;
            }
            else
            {
                sb.Append(text[i++]);
            }
        }

        value = sb.ToString();
        return i < text.Length && text[i] == quote ? i + 1 : i;
    }

    private static bool IsIdentifierChar(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' or '.';
}
