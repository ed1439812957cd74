# The driver of `aws_account.rs`: seeds moto's account with boto3 from a seed, prints what it
# made as one JSON line, then answers one JSON command a line from stdin until it closes:
#   {"op": "boto", "service", "region", "method", "args"}      -> {"result": <the answer>}
# A command that fails answers {"error": "..."}.
import datetime
import json
import sys

import boto3

endpoint, key_id, secret, seed = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])


def client(service, region="us-east-1"):
    return boto3.client(service, endpoint_url=endpoint, region_name=region,
                        aws_access_key_id=key_id, aws_secret_access_key=secret)


made = {"instances": [], "groups": {}, "load_balancers": [], "users": [], "zones": [], "ami": {}}
for index, region in enumerate(seed["regions"]):
    ec2, elb = client("ec2", region), client("elb", region)
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    web = ec2.create_security_group(
        GroupName="web", Description="web tier", VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "Name", "Value": "web"}]}],
    )["GroupId"]
    db = ec2.create_security_group(GroupName="db", Description="database", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "https"}, {"CidrIp": "10.0.0.0/8"}]},
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
    ])
    ec2.authorize_security_group_ingress(GroupId=db, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
         "UserIdGroupPairs": [{"GroupId": web}], "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
    ])
    made["groups"][region] = {"web": web, "db": db, "vpc": vpc}
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    made["ami"][region] = ami
    for n, count in enumerate(seed["reservations"] if index == 0 else [1]):
        tags = [{"Key": "Name", "Value": f"web-{n:03d}"}, {"Key": "service_name", "Value": "web"}]
        if n % 2 == 0:
            tags.append({"Key": "aws:autoscaling:groupName", "Value": f"web-v{n % 7:03d}"})
        reservation = ec2.run_instances(
            ImageId=ami, MinCount=count, MaxCount=count, InstanceType="m4.large", KeyName="ops",
            SecurityGroupIds=[web] if n % 2 else [web, db],
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        )
        if index == 0:
            made["instances"] += [i["InstanceId"] for i in reservation["Instances"]]
    for n in range(seed["load_balancers"] if index == 0 else 1):
        name = f"elb-{n:03d}"
        listeners = [{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP", "InstancePort": 8080}]
        if n % 5 == 0:
            listeners.append({"Protocol": "TCP", "LoadBalancerPort": 443, "InstanceProtocol": "TCP",
                              "InstancePort": 8443})
        elb.create_load_balancer(
            LoadBalancerName=name, Listeners=listeners, AvailabilityZones=[region + "a", region + "b"],
            SecurityGroups=[web], Tags=[{"Key": "owner", "Value": f"team-{n % 4}"}, {"Key": "Name", "Value": name}],
        )
        made["load_balancers"].append([region, name])
    if index == 0 and made["instances"]:
        elb.register_instances_with_load_balancer(
            LoadBalancerName="elb-000", Instances=[{"InstanceId": made["instances"][0]}])

iam = client("iam")
for group in ["developers", "admins", "devops"]:
    iam.create_group(GroupName=group)
policy = iam.create_policy(PolicyName="read-only-s3", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]},
))["Policy"]["Arn"]
for n in range(seed["users"]):
    user = f"user-{n:02d}"
    iam.create_user(UserName=user, Tags=[{"Key": "team", "Value": "core"}] if n % 2 else [])
    for group in ["developers", "admins", "devops"][: n % 4]:
        iam.add_user_to_group(UserName=user, GroupName=group)
    if n % 3 == 0:
        iam.put_user_policy(UserName=user, PolicyName=f"{user}-scratch", PolicyDocument=json.dumps(
            {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::scratch/*"}]},
        ))
    if n % 2 == 0:
        iam.attach_user_policy(UserName=user, PolicyArn=policy)
    for _ in range(n % 3):
        iam.create_access_key(UserName=user)
    made["users"].append(user)

route53 = client("route53")
for z in range(seed["zones"]):
    name = "example.com." if z == 0 else f"zone{z:03d}.example.org."
    zone = route53.create_hosted_zone(
        Name=name, CallerReference=f"ref-{z}",
        HostedZoneConfig={"Comment": "public zone", "PrivateZone": False},
    )["HostedZone"]["Id"]
    made["zones"].append([name, zone])
    if z != 0:
        continue

    def record(name, kind, values, **extra):
        rrset = {"Name": name, "Type": kind, **extra}
        if values:
            rrset["ResourceRecords"] = [{"Value": v} for v in values]
        return {"Action": "CREATE", "ResourceRecordSet": rrset}

    changes = [record(f"host{n:03d}.example.com.", "A", [f"203.0.113.{n % 250}"], TTL=300)
               for n in range(seed["records"])]
    changes += [
        record("www.example.com.", "A", ["54.12.34.56", "54.12.34.57"], TTL=60),
        record("www.example.com.", "TXT", ['"v=spf1 -all"'], TTL=60),
        record("app.example.com.", "A", ["203.0.113.10"], TTL=60, SetIdentifier="blue", Weight=50),
        record("app.example.com.", "A", ["203.0.113.11"], TTL=60, SetIdentifier="green", Weight=50),
        record("docs.example.com.", "CNAME", ["example.github.io"], TTL=300),
        record("*.example.com.", "CNAME", ["www.example.com"], TTL=300),
        record("lb.example.com.", "A", [], AliasTarget={
            "HostedZoneId": "Z35SXDOTRQ7X7K", "DNSName": "elb-000.us-east-1.elb.amazonaws.com.",
            "EvaluateTargetHealth": False}),
    ]
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": changes})

print(json.dumps(made), flush=True)


def run(command):
    op, service, region = command["op"], command["service"], command["region"]
    if op == "boto":
        answer = getattr(client(service, region), command["method"])(**command["args"])
        answer.pop("ResponseMetadata", None)
        return {"result": json.loads(json.dumps(answer, default=lambda v: v.isoformat()
                                                if isinstance(v, datetime.datetime) else str(v)))}
    raise ValueError(f"unknown op {op}")


for line in sys.stdin:
    try:
        out = run(json.loads(line))
    except Exception as error:  # the test that sent it reports it
        out = {"error": repr(error)}
    print(json.dumps(out), flush=True)
