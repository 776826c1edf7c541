import com.sun.tools.attach.VirtualMachine;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/**
 * The requests a Kafka broker running on this machine has answered since it started, by request
 * type (every version summed), one "<type> <count> <total> <queue> <local> <remote>" line each:
 * Kafka's own meters, kafka.network:type=RequestMetrics,name=RequestsPerSec, and the sums of its
 * request time histograms (TotalTimeMs; RequestQueueTimeMs, waiting for a request handler thread;
 * LocalTimeMs, handled by it; RemoteTimeMs, waiting in purgatory: a fetch's long poll, a produce's
 * acks), in ms since the start, each its Mean times its Count (a Yammer histogram's mean is over
 * every value, not its sample). The broker records each time rounded to a whole ms, so a mean over
 * many requests is within 0.5 ms of the true one. Read over JMX from the broker's pid through the
 * JDK's attach API (no JMX port needed). Usage: java BrokerRequests <broker pid>.
 * A request is counted once: the broker also marks each Fetch under FetchConsumer or FetchFollower
 * (and ListConfigResources v0 under ListClientMetricsResources), which are left out here; a
 * verify-only AddPartitionsToTxn (from a partition leader) is marked as
 * AddPartitionsToTxnVerification alone, and stays (kafka.network.RequestChannel).
 */
public class BrokerRequests {
  private static final Set<String> ALSO_COUNTED_ELSEWHERE = Set.of("FetchConsumer", "FetchFollower", "ListClientMetricsResources");
  private static final String[] TIMES = {"TotalTimeMs", "RequestQueueTimeMs", "LocalTimeMs", "RemoteTimeMs"};

  /** The sum of `time` over every request so far, in ms, by request type (a histogram's Mean times its Count). */
  private static Map<String, Double> timeSums(MBeanServerConnection server, String time) throws Exception {
    Map<String, Double> sums = new TreeMap<>();
    for (ObjectName histogram : server.queryNames(new ObjectName("kafka.network:type=RequestMetrics,name=" + time + ",*"), null)) {
      double sum = ((Number) server.getAttribute(histogram, "Mean")).doubleValue() * ((Number) server.getAttribute(histogram, "Count")).longValue();
      sums.merge(histogram.getKeyProperty("request"), sum, Double::sum);
    }
    return sums;
  }

  public static void main(String[] args) throws Exception {
    VirtualMachine vm = VirtualMachine.attach(args[0]);
    try (JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(vm.startLocalManagementAgent()))) {
      MBeanServerConnection server = connector.getMBeanServerConnection();
      Map<String, Long> counts = new TreeMap<>();
      for (ObjectName meter : server.queryNames(new ObjectName("kafka.network:type=RequestMetrics,name=RequestsPerSec,*"), null)) {
        String request = meter.getKeyProperty("request");
        if (ALSO_COUNTED_ELSEWHERE.contains(request)) continue;
        counts.merge(request, ((Number) server.getAttribute(meter, "Count")).longValue(), Long::sum);
      }
      List<Map<String, Double>> sums = new ArrayList<>();
      for (String time : TIMES) sums.add(timeSums(server, time));
      for (Map.Entry<String, Long> entry : counts.entrySet()) {
        StringBuilder line = new StringBuilder(entry.getKey()).append(' ').append(entry.getValue());
        for (Map<String, Double> sum : sums) line.append(' ').append(String.format(Locale.ROOT, "%.3f", sum.getOrDefault(entry.getKey(), 0.0)));
        System.out.println(line);
      }
    } finally {
      vm.detach();
    }
  }
}
