import com.sun.tools.attach.VirtualMachine;
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
 * type (every version summed), one "<type> <count>" line each: Kafka's own meters,
 * kafka.network:type=RequestMetrics,name=RequestsPerSec, read over JMX from the broker's pid
 * through the JDK's attach API (no JMX port needed). Usage: java BrokerRequests <broker pid>.
 * A request is counted once: the broker also marks each Fetch under FetchConsumer or FetchFollower
 * (and ListConfigResources v0 under ListClientMetricsResources), which are left out here; a
 * verify-only AddPartitionsToTxn (from a partition leader) is marked as
 * AddPartitionsToTxnVerification alone, and stays (kafka.network.RequestChannel).
 */
public class BrokerRequests {
  private static final Set<String> ALSO_COUNTED_ELSEWHERE = Set.of("FetchConsumer", "FetchFollower", "ListClientMetricsResources");

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
      counts.forEach((type, count) -> System.out.println(type + " " + count));
    } finally {
      vm.detach();
    }
  }
}
