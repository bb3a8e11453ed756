package io.portiere.esnode;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.apache.lucene.util.SetOnce;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.settings.ClusterSettings;
import org.elasticsearch.common.settings.IndexScopedSettings;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.settings.SettingsFilter;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.index.analysis.CharFilterFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;

/**
 * The two stock Elasticsearch modules that Maven Central does not carry,
 * rebuilt on the Lucene classes already in the server's dependencies:
 * rest-root ({@code GET /}, which go-elasticsearch calls first) and the part
 * of analysis-common that search/elastic's mapping uses. The analysis
 * components follow analysis-common's settings and defaults so the same
 * mapping behaves the same on a stock node; search/elastic's integration test
 * compares their {@code _analyze} output with the expected tokens.
 */
public final class PortierePlugin extends Plugin implements ActionPlugin, AnalysisPlugin {
    private final SetOnce<ClusterService> clusterService = new SetOnce<>();

    @Override
    public Collection<?> createComponents(PluginServices services) {
        clusterService.set(services.clusterService());
        return List.of();
    }

    @Override
    public Collection<RestHandler> getRestHandlers(Settings settings, NamedWriteableRegistry registry, RestController controller,
            ClusterSettings clusterSettings, IndexScopedSettings indexScopedSettings, SettingsFilter settingsFilter,
            IndexNameExpressionResolver resolver, Supplier<DiscoveryNodes> nodes, Predicate<NodeFeature> features) {
        return List.of(new RootHandler(clusterService::get));
    }

    @Override
    public Map<String, AnalysisProvider<CharFilterFactory>> getCharFilters() {
        Map<String, AnalysisProvider<CharFilterFactory>> m = new TreeMap<>();
        m.put("mapping", AnalysisPlugin.requiresAnalysisSettings(CharFilters::mapping));
        m.put("pattern_replace", AnalysisPlugin.requiresAnalysisSettings(CharFilters::patternReplace));
        m.put("html_strip", CharFilters::htmlStrip);
        return m;
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        Map<String, AnalysisProvider<TokenFilterFactory>> m = new TreeMap<>();
        m.put("lowercase", TokenFilters::lowercase);
        m.put("uppercase", TokenFilters::uppercase);
        m.put("asciifolding", TokenFilters::asciiFolding);
        m.put("trim", TokenFilters::trim);
        m.put("length", TokenFilters::length);
        m.put("porter_stem", TokenFilters::porterStem);
        m.put("kstem", TokenFilters::kStem);
        m.put("stemmer", TokenFilters::stemmer);
        m.put("ngram", TokenFilters::nGram);
        m.put("edge_ngram", TokenFilters::edgeNGram);
        m.put("word_delimiter_graph", TokenFilters::wordDelimiterGraph);
        m.put("pattern_replace", AnalysisPlugin.requiresAnalysisSettings(TokenFilters::patternReplace));
        m.put("synonym", AnalysisPlugin.requiresAnalysisSettings((is, env, name, s) -> new SynonymFilterFactory(name, s, false)));
        m.put("synonym_graph", AnalysisPlugin.requiresAnalysisSettings((is, env, name, s) -> new SynonymFilterFactory(name, s, true)));
        return m;
    }
}
