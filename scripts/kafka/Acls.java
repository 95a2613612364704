// Runs Kafka's kafka-acls.sh (org.apache.kafka.tools.AclCommand) once for
// each group of arguments, groups separated by ";", in one JVM: a JVM start
// per ACL command would make scripts/kafka/start.sh secure slower by a
// second or more per line. AclCommand exits the JVM with status 1 on the
// first failure.
//
//   java -cp '.kafka/libs/*' scripts/kafka/Acls.java ARGS... ";" ARGS... ";"
import java.util.ArrayList;
import java.util.List;

public class Acls {
    public static void main(String[] args) {
        List<String> command = new ArrayList<>();
        for (String a : args) {
            if (a.equals(";")) {
                org.apache.kafka.tools.AclCommand.main(command.toArray(new String[0]));
                command.clear();
            } else {
                command.add(a);
            }
        }
        if (!command.isEmpty()) {
            org.apache.kafka.tools.AclCommand.main(command.toArray(new String[0]));
        }
    }
}
