package io.portiere.esnode;

import java.util.List;
import java.util.function.Supplier;

import org.apache.lucene.util.Version;
import org.elasticsearch.Build;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.xcontent.XContentBuilder;

/**
 * {@code GET /} and {@code HEAD /}: the node's name, cluster and version,
 * in the shape of the stock rest-root module's response.
 */
final class RootHandler extends BaseRestHandler {
    private final Supplier<ClusterService> clusterService;

    RootHandler(Supplier<ClusterService> clusterService) {
        this.clusterService = clusterService;
    }

    @Override
    public String getName() {
        return "main_action";
    }

    @Override
    public List<Route> routes() {
        return List.of(new Route(RestRequest.Method.GET, "/"), new Route(RestRequest.Method.HEAD, "/"));
    }

    @Override
    protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
        return channel -> {
            if (request.method() == RestRequest.Method.HEAD) {
                channel.sendResponse(new RestResponse(RestStatus.OK, "application/json", ""));
                return;
            }
            ClusterService cs = clusterService.get();
            ClusterState state = cs.state();
            Build build = Build.current();
            XContentBuilder b = channel.newBuilder();
            b.startObject();
            b.field("name", cs.getNodeName());
            b.field("cluster_name", cs.getClusterName().value());
            b.field("cluster_uuid", state.metadata().clusterUUID());
            b.startObject("version");
            b.field("number", build.qualifiedVersion());
            b.field("build_flavor", build.flavor());
            b.field("build_type", build.type().displayName());
            b.field("build_hash", build.hash());
            b.field("build_date", build.date());
            b.field("build_snapshot", build.isSnapshot());
            b.field("lucene_version", Version.LATEST.toString());
            b.field("minimum_wire_compatibility_version", build.minWireCompatVersion());
            b.field("minimum_index_compatibility_version", build.minIndexCompatVersion());
            b.endObject();
            b.field("tagline", "You Know, for Search");
            b.endObject();
            channel.sendResponse(new RestResponse(RestStatus.OK, b));
        };
    }
}
