package io.portiere.esnode;

import java.io.Reader;
import java.io.StringReader;
import java.util.List;
import java.util.function.Function;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.synonym.SolrSynonymParser;
import org.apache.lucene.analysis.synonym.SynonymFilter;
import org.apache.lucene.analysis.synonym.SynonymGraphFilter;
import org.apache.lucene.analysis.synonym.SynonymMap;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.index.IndexService.IndexCreationContext;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.CharFilterFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;

/**
 * synonym and synonym_graph with inline Solr-format rules. As in
 * analysis-common, the rules are parsed through the analysis chain that
 * precedes the filter (its tokenizer, char filters and earlier filters), so
 * "Paracetamol => acetaminophen" matches whatever the chain made of the
 * input. Rule files and the synonyms API are not provided.
 */
final class SynonymFilterFactory extends AbstractTokenFilterFactory {
    private final Settings settings;
    private final boolean graph;

    SynonymFilterFactory(String name, Settings settings, boolean graph) {
        super(name, settings);
        this.settings = settings;
        this.graph = graph;
        if (settings.get("synonyms_path") != null || settings.get("synonyms_set") != null) {
            throw new IllegalArgumentException(name + ": only inline `synonyms` are provided by portiere-esnode");
        }
        if (!"solr".equals(settings.get("format", "solr"))) {
            throw new IllegalArgumentException(name + ": only the solr format is provided by portiere-esnode");
        }
    }

    @Override
    public TokenStream create(TokenStream ts) {
        throw new IllegalStateException("Call getChainAwareTokenFilterFactory to specialize this factory for an analysis chain first");
    }

    @Override
    public TokenFilterFactory getChainAwareTokenFilterFactory(IndexCreationContext context, TokenizerFactory tokenizer,
            List<CharFilterFactory> charFilters, List<TokenFilterFactory> previous, Function<String, TokenFilterFactory> all) {
        Analyzer parser = new Analyzer() {
            @Override
            protected TokenStreamComponents createComponents(String field) {
                Tokenizer t = tokenizer.create();
                TokenStream ts = t;
                for (TokenFilterFactory f : previous) {
                    ts = f.getSynonymFilter().create(ts);
                }
                return new TokenStreamComponents(t, ts);
            }

            @Override
            protected Reader initReader(String field, Reader r) {
                for (CharFilterFactory c : charFilters) {
                    r = c.create(r);
                }
                return r;
            }
        };
        SynonymMap map;
        try {
            SolrSynonymParser p = new SolrSynonymParser(true, settings.getAsBoolean("expand", true), parser);
            p.parse(new StringReader(String.join("\n", settings.getAsList("synonyms"))));
            map = p.build();
        } catch (Exception e) {
            throw new IllegalArgumentException("failed to build synonyms for [" + name() + "]: " + e.getMessage(), e);
        }
        String name = name();
        return new TokenFilterFactory() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public TokenStream create(TokenStream ts) {
                if (map.fst == null) {
                    return ts;
                }
                return graph ? new SynonymGraphFilter(ts, map, false) : new SynonymFilter(ts, map, false);
            }

            @Override
            public TokenFilterFactory getSynonymFilter() {
                // A synonym filter before another one does not rewrite the later one's rules.
                return IDENTITY_FILTER;
            }
        };
    }
}
