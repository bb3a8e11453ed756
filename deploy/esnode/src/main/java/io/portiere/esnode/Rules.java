package io.portiere.esnode;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses analysis-common's "left => right" rules (mapping char filter,
 * word_delimiter type tables) with its escapes: \\ \n \t \r \b \f \\uXXXX.
 */
final class Rules {
    private static final Pattern RULE = Pattern.compile("(.*)\\s*=>\\s*(.*)\\s*$");

    private Rules() {}

    /** Returns {left, right}, each trimmed and unescaped. */
    static String[] split(String rule) {
        Matcher m = RULE.matcher(rule);
        if (m.find() == false) {
            throw new IllegalArgumentException("Invalid Mapping Rule : [" + rule + "]");
        }
        return new String[] { unescape(m.group(1).trim()), unescape(m.group(2).trim()) };
    }

    static String unescape(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length();) {
            char c = s.charAt(i++);
            if (c == '\\') {
                if (i >= s.length()) {
                    throw new IllegalArgumentException("Invalid escaped char in [" + s + "]");
                }
                c = s.charAt(i++);
                switch (c) {
                    case 'n' -> c = '\n';
                    case 't' -> c = '\t';
                    case 'r' -> c = '\r';
                    case 'b' -> c = '\b';
                    case 'f' -> c = '\f';
                    case 'u' -> {
                        if (i + 4 > s.length()) {
                            throw new IllegalArgumentException("Invalid escaped char in [" + s + "]");
                        }
                        c = (char) Integer.parseInt(s.substring(i, i + 4), 16);
                        i += 4;
                    }
                    default -> { } // \\ and any other escaped char stand for themselves
                }
            }
            out.append(c);
        }
        return out.toString();
    }
}
