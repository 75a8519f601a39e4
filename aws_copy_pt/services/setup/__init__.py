"""Setting up what transfers need: AWS credentials, buckets, Globus collections, bucket
policies, the Globus login, and the choices the wizard offers while setting up."""
